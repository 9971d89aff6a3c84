"""The package tier: the app as users get it. The wheel is built and installed into a fresh
virtualenv with the newest Django; `django-admin startproject` makes a project; the README's Install
blocks and a team's own app are added, and nothing else; then the project is checked, migrated,
served with `runlocal`, and used as people and API clients would.

A second project adds a REST_FRAMEWORK hostile to any API that leans on it: the app's API behaves
the same, and the project's own API keeps the project's settings.
"""

import re
import subprocess
import tarfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support import clips, live, package
from tests.support.media import media_bytes
from tests.support.s3 import post_to_s3
from uploads.storage.local_s3 import free_port

pytestmark = pytest.mark.package

BUCKET = "smoke-bucket"
PASSWORD = "a-long-smoke-password"
# Never pulled in by a plain install: the demo's serving stack and the optional features.
NOT_RUNTIME = {"gunicorn", "whitenoise", "psycopg", "psycopg-binary", "redis", "drf-spectacular"}
HOSTILE_REST_FRAMEWORK = """
# The team's own DRF settings: every default an API could lean on, set against it.
REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PAGINATION_CLASS": None,
    "DATETIME_FORMAT": "%s",
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.URLPathVersioning",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.BrowsableAPIRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.FormParser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"anon": "10/day", "user": "10/day"},
    "DEFAULT_FILTER_BACKENDS": ["rest_framework.filters.OrderingFilter"],
    "EXCEPTION_HANDLER": "library.api.host_exception_handler",
    "NON_FIELD_ERRORS_KEY": "everything",
}
"""
HOST_API_URLS = """
from library.api import Things

urlpatterns += [path("api/<str:version>/things/", Things.as_view())]
"""


@pytest.fixture(scope="module")
def distribution(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The wheel and sdist of this checkout."""
    return package.build(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def bare_venv(distribution: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A virtualenv with the wheel and no extra."""
    return package.make_venv(tmp_path_factory.mktemp("bare") / "venv", distribution[0])


# The fresh project runs on the newest Django a plain install takes, and on the 5.2 LTS.
DJANGOS = {"newest-django": "django", "django-5.2": "django>=5.2,<5.3"}


@pytest.fixture(scope="module", params=list(DJANGOS))
def local_venv(
    request: pytest.FixtureRequest,
    distribution: tuple[Path, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Any:
    """A virtualenv with the wheel, the local S3 and analysis (the API needs no drf-spectacular)."""
    created = package.make_venv(tmp_path_factory.mktemp("local") / "venv", distribution[0])
    created.install(f"{distribution[0]}[local,analysis]", DJANGOS[request.param])
    return created


@pytest.fixture(scope="module")
def full_venv(distribution: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A virtualenv with the wheel and the extras the second project uses."""
    created = package.make_venv(tmp_path_factory.mktemp("full") / "venv", distribution[0])
    created.install(f"{distribution[0]}[local,cli,docs]")
    return created


@dataclass
class Site:
    """A host project served by `runlocal`, with its local S3, and a superuser's token."""

    project: package.HostProject
    url: str
    token: str

    def api(self) -> requests.Session:
        """An API client with the superuser's token."""
        session = requests.Session()
        session.headers["Authorization"] = f"Token {self.token}"
        return session

    def signed_in(self, form: str = "/accounts/login/", then: str = "/upload/") -> Any:
        """A browser session of the superuser, signed in through a sign-in form."""
        return live.sign_in(self.url, "admin", PASSWORD, form=form, then=then)


def serve(project: package.HostProject) -> Iterator[Site]:
    """Check, migrate and serve the project with `runlocal` (no --demo); make a superuser."""
    project.manage("migrate", "--noinput")
    port = free_port()
    process = project.start("runlocal", f"127.0.0.1:{port}")
    url = f"http://127.0.0.1:{port}"
    try:
        live.wait_for(f"{url}/accounts/login/", process, project.log)
        users = project.manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import User; print(User.objects.count())",
        )
        assert users.split()[-1] == "0"  # runlocal without --demo made nobody
        project.environment["DJANGO_SUPERUSER_PASSWORD"] = PASSWORD
        email = "admin@example.com"
        project.manage("createsuperuser", "--noinput", "--username", "admin", "--email", email)
        token = re.search(r"Generated token (\w+)", project.manage("drf_create_token", "admin"))
        assert token, "drf_create_token printed no token"
        yield Site(project, url, token.group(1))
    finally:
        package.stop(process)


def upload(site: Site, api: requests.Session, size: int = 4096) -> dict[str, Any]:
    """Declare an MP4, POST it to the local S3 with its policy, complete it; return the record."""
    body = media_bytes("video/mp4", size)
    declared = {"filename": "clip.mp4", "content_type": "video/mp4", "size": len(body)}
    created = api.post(f"{site.url}/api/media/", json=declared, timeout=10)
    assert created.status_code == 201, created.text
    assert post_to_s3(created.json()["upload"], body).status_code == 204
    completed = api.post(f"{site.url}/api/media/{created.json()['id']}/complete/", timeout=30)
    assert completed.status_code == 200, completed.text
    return {"created": created.json(), "completed": completed.json()}


def project_environment() -> dict[str, str]:
    """The bucket on a local S3 runlocal starts: only environment, as the README's block reads."""
    return {
        "CONTENT_UPLOAD_BUCKET": BUCKET,
        "UPLOAD_S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "UPLOAD_S3_ACCESS_KEY_ID": "local",
        "UPLOAD_S3_SECRET_ACCESS_KEY": "local-secret",
    }


@pytest.fixture(scope="module")
def fresh(local_venv: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """startproject + the README's Install blocks + the team's app, served."""
    project = package.make_project(
        local_venv, tmp_path_factory.mktemp("fresh") / "project", project_environment()
    )
    project.append(project.settings_file, package.readme_blocks("settings.py"))
    project.append(project.settings_file, package.readme_blocks("settings.py (analysis extra)"))
    project.append(project.settings_file, 'INSTALLED_APPS += ["library"]  # the team\'s own\n')
    project.append(project.urls_file, package.readme_blocks("urls.py"))
    project.manage("makemigrations", "library")
    yield from serve(project)


@pytest.fixture(scope="module")
def hostile(full_venv: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The same, with the docs include, a hostile REST_FRAMEWORK and the team's own API."""
    project = package.make_project(
        full_venv, tmp_path_factory.mktemp("hostile") / "project", project_environment()
    )
    project.append(project.settings_file, package.readme_blocks("settings.py"))
    project.append(project.settings_file, package.readme_blocks("settings.py (docs extra)"))
    project.append(project.settings_file, 'INSTALLED_APPS += ["library"]\n')
    project.append(project.settings_file, HOSTILE_REST_FRAMEWORK)
    project.append(project.urls_file, package.readme_blocks("urls.py"))
    project.append(project.urls_file, package.readme_blocks("urls.py (docs extra)"))
    project.append(project.urls_file, HOST_API_URLS)
    project.manage("makemigrations", "library")
    yield from serve(project)


# ---------------------------------------------------------------- the distribution


def test_the_wheel_carries_the_app_whole_and_nothing_else(distribution):
    names = zipfile.ZipFile(distribution[0]).namelist()
    for needed in (
        "uploads/py.typed",
        "uploads/migrations/0001_initial.py",
        "uploads/templates/uploads/widgets/media_file.html",
        "uploads/templates/uploads/base.html",
        "uploads/templates/registration/login.html",
        "uploads/static/uploads/widget.js",
        "uploads/static/uploads/uploader.css",
    ):
        assert needed in names, needed
    tops = {name.split("/")[0] for name in names if "/" in name}
    assert tops == {"uploads", *{n for n in tops if n.endswith(".dist-info")}}, tops
    assert not [name for name in names if re.search(r"(^|/)(tests?|bench|conftest)[/_.]", name)]
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(distribution[0]).read(metadata).decode()
    assert "Name: django-mediaupload" in text


def test_the_sdist_builds_the_same_app(distribution):
    with tarfile.open(distribution[1]) as sdist:
        names = sdist.getnames()
    assert any(name.endswith("uploads/templates/uploads/widgets/media_file.html") for name in names)
    assert any(name.endswith("uploads/static/uploads/widget.js") for name in names)
    assert not any("/mediaupload/" in name for name in names)


def test_a_plain_install_pulls_no_serving_stack_and_no_extra(bare_venv):
    installed = bare_venv.distributions()
    assert {"django", "djangorestframework", "boto3", "django-mediaupload"} <= installed
    assert not installed & NOT_RUNTIME, installed & NOT_RUNTIME
    assert not installed & {"moto", "requests", "tqdm", "drf-spectacular-sidecar"}


IMPORT_EVERYTHING = """
import django
from django.conf import settings
from django.core.management import get_commands, load_command_class

settings.configure(
    INSTALLED_APPS=["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                    "django.contrib.sessions", "django.contrib.messages",
                    "django.contrib.staticfiles", "rest_framework", "rest_framework.authtoken",
                    "uploads"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    ROOT_URLCONF="uploads.urls", SECRET_KEY="x", CONTENT_UPLOAD_BUCKET="b",
)
django.setup()
import uploads.admin, uploads.fields, uploads.integration.forms, uploads.models, uploads.rest
import uploads.urls
commands = sorted(name for name, app in get_commands().items() if app == "uploads")
for name in commands:
    load_command_class("uploads", name)
print("imported:", ",".join(commands))
try:
    import uploads.docs_urls
except ImportError as missing:
    print("docs:", missing)
"""


def test_the_app_and_its_commands_import_with_the_runtime_dependencies_alone(bare_venv, tmp_path):
    output = package.run([bare_venv.python, "-c", IMPORT_EVERYTHING], cwd=tmp_path)
    commands = output.split("imported: ")[1].split()[0].split(",")
    assert {"runlocal", "reconcile_uploads", "expire_uploads", "configure_bucket"} <= set(commands)
    assert (
        "docs: uploads.docs_urls needs the 'docs' extra (drf_spectacular, drf_spectacular_sidecar "
        "is missing): pip install 'django-mediaupload[docs]'" in output
    )


def test_features_behind_extras_say_in_one_line_which_to_install(bare_venv, tmp_path):
    cli = subprocess.run(
        [bare_venv.bin("mediaupload"), "upload", "x.mp4"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 2
    assert cli.stderr.strip().splitlines() == [
        "mediaupload: The command-line uploader needs the 'cli' extra (requests, tqdm is "
        "missing): pip install 'django-mediaupload[cli]'"
    ]
    project = package.make_project(bare_venv, tmp_path / "project", project_environment())
    project.append(project.settings_file, package.readme_blocks("settings.py"))
    project.append(project.settings_file, "UPLOAD_ANALYSIS = False  # no `analysis` extra\n")
    project.append(project.urls_file, package.readme_blocks("urls.py"))
    refused = project.manage_failing("runlocal")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "CommandError: The local S3 of runlocal needs the 'local' extra (moto, flask is "
        "missing): pip install 'django-mediaupload[local]'"
    ]
    refused = project.manage_failing("reanalyze_uploads", "--all")
    assert refused.stderr.strip().splitlines()[-1] == (
        "CommandError: Analysis needs the 'analysis' extra (PIL is missing): "
        "pip install 'django-mediaupload[analysis]'"
    )


# ---------------------------------------------------------------- a fresh project


def test_the_project_runs_on_the_django_it_was_given(fresh, request):
    version = package.run(
        [fresh.project.venv.python, "-c", "import django; print(django.__version__)"]
    )
    wanted = request.node.callspec.params["local_venv"]
    assert version.startswith("5.2.") if wanted == "django-5.2" else int(version.split(".")[0]) >= 6


def test_check_deploy_has_nothing_to_say_about_the_app_and_migrations_are_complete(fresh):
    checked = fresh.project.manage_failing("check", "--deploy")  # a fresh project has its own
    assert "System check identified" in checked.stderr + checked.stdout
    assert "uploads." not in checked.stderr + checked.stdout, checked.stderr
    assert "No changes detected" in fresh.project.manage("makemigrations", "--check", "--dry-run")


def test_runlocal_made_no_user_and_says_where_the_page_and_its_files_are(fresh):
    # (No user: serve() counted them before making the superuser.)
    data_dir = fresh.project.root / "var" / "mediaupload"
    banner = fresh.project.log.read_text()
    assert f"Open {fresh.url}/upload/" in banner
    assert "createsuperuser" in banner and "demo" not in banner
    assert f"Local files: {data_dir}" in banner
    assert (data_dir / "local-s3.log").exists()


def test_the_api_wants_authentication_and_answers_json(fresh):
    anonymous = requests.get(f"{fresh.url}/api/media/", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"
    assert anonymous.headers["WWW-Authenticate"].startswith("Token")


def test_a_token_client_uploads_to_the_local_s3(fresh):
    assert "drf-spectacular" not in fresh.project.venv.distributions()  # the API needs none
    done = upload(fresh, fresh.api())
    assert done["completed"]["status"] == "uploaded"
    assert done["completed"]["key"].startswith("media/")


def test_runlocals_worker_analyses_an_upload(fresh, tmp_path):
    """The worker `runlocal` starts (django-tasks-db; the backport on Django 5.2) analyses a real
    clip: metadata, and a poster behind a signed URL."""
    api = fresh.api()
    clip = clips.mp4(tmp_path / "clip.mp4", seconds=2, size="320x240").read_bytes()
    declared = {"filename": "clip.mp4", "content_type": "video/mp4", "size": len(clip)}
    created = api.post(f"{fresh.url}/api/media/", json=declared, timeout=10).json()
    assert post_to_s3(created["upload"], clip).status_code == 204
    api.post(f"{fresh.url}/api/media/{created['id']}/complete/", timeout=30).raise_for_status()
    record = created
    for _ in range(300):
        record = api.get(f"{fresh.url}/api/media/{created['id']}/", timeout=10).json()
        if record["analysis"]["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert record["analysis"]["status"] == "done", record["analysis"]
    assert (record["metadata"]["width"], record["metadata"]["height"]) == (320, 240)
    assert requests.get(record["poster_url"], timeout=10).content[8:12] == b"WEBP"


def test_the_admin_add_page_renders_the_widget_and_its_script(fresh):
    admin = fresh.signed_in("/admin/login/", then="/admin/")
    page = admin.get(f"{fresh.url}/admin/library/episode/add/", timeout=10)
    assert page.status_code == 200
    assert "data-media-widget" in page.text
    script = re.search(r'<script[^>]*src="([^"]*uploads/widget\.js)"[^>]*type="module"', page.text)
    script = script or re.search(
        r'<script[^>]*type="module"[^>]*src="([^"]*uploads/widget\.js)"', page.text
    )
    assert script, page.text[:2000]
    module = admin.get(fresh.url + script.group(1), timeout=10)
    assert module.status_code == 200 and "bindWidgets" in module.text
    for imported in re.findall(r'from "\./([^"]+)"', module.text):
        assert admin.get(f"{fresh.url}/static/uploads/{imported}", timeout=10).status_code == 200


def test_the_upload_page_signs_people_in_and_out_without_any_template_of_the_project(fresh):
    anonymous = requests.get(f"{fresh.url}/upload/", allow_redirects=False, timeout=10)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"] == "/accounts/login/?next=/upload/"
    person = fresh.signed_in()
    page = person.get(f"{fresh.url}/upload/", timeout=10)
    assert page.status_code == 200 and "Signed in as" in page.text and "admin" in page.text
    form = re.search(r'<form method="post" action="([^"]+)">.*?Sign out', page.text, re.S)
    assert form, page.text[:2000]
    signed_out = person.post(
        fresh.url + form.group(1),
        data={"csrfmiddlewaretoken": person.cookies["csrftoken"], "next": "/upload/"},
        timeout=10,
    )
    assert signed_out.url.startswith(f"{fresh.url}/accounts/login/")
    assert "Sign in" in signed_out.text


def test_collectstatic_leaves_every_module_import_naming_a_hashed_file(fresh):
    fresh.project.manage("collectstatic", "--noinput")
    static_root = fresh.project.root / "staticfiles"
    imports = package.hashed_module_imports(static_root)
    assert any("widget" in module for module in imports), imports
    checked = 0
    for module, targets in imports.items():
        for target in targets:
            resolved = (static_root / module).parent / target
            assert re.search(r"\.[0-9a-f]{12}\.js$", target), (module, target)
            assert resolved.exists(), (module, target)
            checked += 1
    assert checked > 20


# ---------------------------------------------------------------- a hostile REST_FRAMEWORK


def test_the_api_still_requires_auth_pages_and_answers_json(hostile):
    anonymous = requests.get(f"{hostile.url}/api/media/", timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
    api = hostile.api()
    upload(hostile, api)
    listing = api.get(f"{hostile.url}/api/media/", timeout=10)
    assert listing.headers["Content-Type"] == "application/json"
    assert set(listing.json()) == {"count", "next", "previous", "results"}
    invalid = api.post(f"{hostile.url}/api/media/", json={"filename": "a.mp4"}, timeout=10)
    assert invalid.status_code == 400 and set(invalid.json()["fields"]) == {"content_type", "size"}
    unknown = api.get(f"{hostile.url}/api/media/nothing/here/", timeout=10)
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"


def test_timestamps_stay_iso_8601_and_the_projects_throttle_does_not_apply(hostile):
    api = hostile.api()
    done = upload(hostile, api)
    for stamp in (done["created"]["upload"]["expires_at"], done["completed"]["uploaded_at"]):
        assert not stamp.isdigit()
        assert datetime.fromisoformat(stamp.replace("Z", "+00:00")).tzinfo is not None
    answers = [api.get(f"{hostile.url}/api/media/", timeout=10).status_code for _ in range(12)]
    assert answers == [200] * 12  # the project's 10/day is its own API's business


def test_the_cli_uploads(hostile, tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(media_bytes("video/mp4", 64 * 1024))
    output = package.run(
        [
            hostile.project.venv.bin("mediaupload"),
            "upload",
            "--json",
            str(clip),
            "--server",
            hostile.url,
            "--token",
            hostile.token,
        ],
    )
    assert '"status": "uploaded"' in output


def test_the_schema_and_docs_include_describe_the_app_only(hostile):
    schema = hostile.api().get(f"{hostile.url}/api/schema/?format=json", timeout=30)
    assert schema.status_code == 200, schema.text[:500]
    paths = set(schema.json()["paths"])
    assert "/api/media/" in paths and not any("things" in path for path in paths)
    docs = hostile.signed_in().get(f"{hostile.url}/api/docs/", timeout=10)
    assert docs.status_code == 200 and 'id="swagger-ui"' in docs.text
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in docs.text


def test_the_projects_own_api_keeps_the_projects_settings(hostile):
    answers = [requests.get(f"{hostile.url}/api/v1/things/", timeout=10) for _ in range(11)]
    assert [answer.status_code for answer in answers] == [200] * 10 + [429]
    assert answers[0].headers["Content-Type"].startswith("text/html")  # its renderer: browsable
    assert answers[-1].headers["X-Host-Error"] == "429"  # its exception handler
