"""System checks: a deploy missing its bucket or credentials fails loudly at start."""

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig, apps
from django.conf import settings
from django.core.cache import caches
from django.core.checks import CheckMessage, Error, Info, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from rest_framework.authentication import TokenAuthentication

from uploads import conf
from uploads.api import rate_limits
from uploads.integration import registry
from uploads.limits import Limits, is_inline_safe


@register()
def check_upload_settings(
    *,
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """Report missing or contradictory upload settings."""
    problems: list[CheckMessage] = []
    if not conf.bucket():
        problems.append(
            Error(
                "CONTENT_UPLOAD_BUCKET is not set.",
                hint="Set it to the name of the bucket that receives uploads.",
                id="uploads.E001",
            )
        )
    if conf.max_bytes() < 1:
        problems.append(Error("UPLOAD_MAX_BYTES must be at least 1.", id="uploads.E002"))
    if conf.max_bytes() > conf.OBJECT_MAX_BYTES:
        problems.append(
            Error("UPLOAD_MAX_BYTES is above S3's 5 TiB object limit.", id="uploads.E003")
        )
    if not conf.allowed_types():
        problems.append(
            Error("UPLOAD_ALLOWED_TYPES is empty: nothing could be uploaded.", id="uploads.E004")
        )
    if not 1 <= conf.policy_expires() <= 7 * 24 * 3600:
        problems.append(
            Error(
                "UPLOAD_POLICY_EXPIRES must be between 1 second and 7 days (SigV4's limit).",
                id="uploads.E005",
            )
        )
    if not conf.PART_MIN_BYTES <= conf.part_size() <= conf.PART_MAX_BYTES:
        problems.append(
            Error(
                "UPLOAD_PART_SIZE must be between 5 MiB and 5 GiB (S3's part size limits).",
                id="uploads.E006",
            )
        )
    if conf.multipart_threshold() < 1:
        problems.append(Error("UPLOAD_MULTIPART_THRESHOLD must be positive.", id="uploads.E007"))
    if conf.parallel_parts() < 1 or conf.parallel_files() < 1:
        problems.append(
            Error(
                "UPLOAD_PARALLEL_PARTS and UPLOAD_PARALLEL_FILES must be at least 1.",
                id="uploads.E008",
            )
        )
    scratch, media = conf.key_prefix(), conf.media_prefix()
    if not scratch or not media or scratch.startswith(media) or media.startswith(scratch):
        problems.append(
            Error(
                "UPLOAD_KEY_PREFIX and UPLOAD_MEDIA_PREFIX must be two non-empty prefixes, "
                "neither inside the other.",
                hint="Browsers write the scratch prefix; only the server may write the media one.",
                id="uploads.E009",
            )
        )
    if conf.min_throughput() < 1:
        problems.append(
            Error("UPLOAD_MIN_THROUGHPUT must be at least 1 byte per second.", id="uploads.E010")
        )
    else:
        largest_post = min(conf.multipart_threshold(), conf.max_bytes(), conf.SINGLE_POST_MAX_BYTES)
        longest = conf.policy_expires() + largest_post / conf.min_throughput()
        if longest > 7 * 24 * 3600:
            problems.append(
                Error(
                    "The largest single-POST upload at UPLOAD_MIN_THROUGHPUT would need a policy "
                    "valid for more than 7 days (SigV4's limit).",
                    hint="Raise UPLOAD_MIN_THROUGHPUT or lower UPLOAD_MULTIPART_THRESHOLD.",
                    id="uploads.E011",
                )
            )
    if registry.field_ids() and "uploads.middleware.CurrentUser" not in settings.MIDDLEWARE:
        problems.append(
            Warning(
                "MediaFileField and MediaFilesField forms cannot tell who submits them.",
                hint="Add 'uploads.middleware.CurrentUser' to MIDDLEWARE, after "
                "AuthenticationMiddleware; until then they refuse new files.",
                id="uploads.W002",
            )
        )
    problems.extend(_field_problems())
    problems.extend(_connection_problems())
    problems.extend(_api_problems())
    problems.extend(_sign_in_problems())
    problems.extend(_throttle_problems())
    problems.extend(_attach_problems())
    return problems


# Deleting an upload would delete the object that holds it, or quietly empty its field.
_CASCADES = {models.CASCADE, getattr(models, "DB_CASCADE", models.CASCADE)}
_NULLS = {models.SET_NULL, getattr(models, "DB_SET_NULL", models.SET_NULL)}


def _field_problems() -> list[CheckMessage]:
    """Refuse upload fields that cascade; name those that would be emptied by a bare delete."""
    problems: list[CheckMessage] = []
    for declared in registry.declared_fields():
        field = declared.model._meta.get_field(declared.field_id.rpartition(".")[2])
        problems.extend(_content_problems(declared.field_id, declared.limits, field))
        on_delete = getattr(field.remote_field, "on_delete", None)
        if on_delete in _CASCADES:
            problems.append(
                Error(
                    f"{declared.field_id} deletes its object when its upload is deleted.",
                    hint="Leave on_delete out (PROTECT): the app refuses to delete uploads in use.",
                    obj=field,
                    id="uploads.E016",
                )
            )
        elif on_delete in _NULLS:
            problems.append(
                Warning(
                    f"{declared.field_id} is emptied if its upload is deleted outside the app.",
                    hint="The app refuses to delete an upload in use; code that deletes MediaFile "
                    "rows itself would empty this field. Leave on_delete out (PROTECT).",
                    obj=field,
                    id="uploads.W004",
                )
            )
    return problems


def _content_problems(field_id: str, limits: Limits, field: object) -> list[CheckMessage]:
    """Say which fields take files nobody checks, or would show a document that can run script."""
    problems: list[CheckMessage] = []
    if not limits.verify_content:
        problems.append(
            Warning(
                f"{field_id} takes files whose contents are not checked (verify_content=False).",
                hint="A file declared as one type may hold another: never serve it inline.",
                obj=field,
                id="uploads.W009",
            )
        )
    unsafe = [name for name in limits.inline_types if not is_inline_safe(name)]
    if unsafe:
        problems.append(
            Error(
                f"{field_id} shows {', '.join(unsafe)} inline, which could run script.",
                hint="inline_types may name images (not SVG), audio, video, application/pdf "
                "and text/plain.",
                obj=field,
                id="uploads.E021",
            )
        )
    return problems


def _connection_problems() -> list[CheckMessage]:
    """Report the upload bucket's connection settings that contradict each other or are ignored."""
    problems: list[CheckMessage] = []
    connection = conf.s3_connection()
    names = connection.names
    if bool(connection.access_key_id) != bool(connection.secret_access_key):
        problems.append(
            Warning(
                f"Only one of {names['access_key_id']} and {names['secret_access_key']} is set.",
                hint="Set both, or neither to use boto3's default credentials (an instance role).",
                id="uploads.W001",
            )
        )
    if connection.addressing_style not in conf.S3_ADDRESSING_STYLES:
        problems.append(
            Error(
                f"{names['addressing_style']} must be 'path', 'virtual' or 'auto', "
                f"not {connection.addressing_style!r}.",
                id="uploads.E012",
            )
        )
    endpoint = urlsplit(connection.endpoint_url)
    if connection.endpoint_url and (
        endpoint.scheme not in {"http", "https"} or not endpoint.netloc
    ):
        problems.append(
            Error(
                f"{names['endpoint_url']} must be an http(s) URL, not {connection.endpoint_url!r}.",
                hint="Leave it empty for AWS S3 itself.",
                id="uploads.E013",
            )
        )
    ignored = conf.ignored_aws_settings()
    if ignored:
        problems.append(
            Info(
                f"The upload bucket's connection comes from the UPLOAD_S3_* settings; "
                f"{', '.join(ignored)} {'is' if len(ignored) == 1 else 'are'} not read for it.",
                hint="Set every UPLOAD_S3_* setting the bucket needs (keys, region, endpoint).",
                id="uploads.I001",
            )
        )
    return problems


def _api_problems() -> list[CheckMessage]:
    """Report authentication classes for the API that cannot work."""
    try:
        classes = conf.api_authentication_classes()
    except ImportError as error:
        return [
            Error(
                f"UPLOAD_API_AUTHENTICATION_CLASSES names a class that cannot be imported: {error}",
                id="uploads.E014",
            )
        ]
    if TokenAuthentication in classes and not apps.is_installed("rest_framework.authtoken"):
        return [
            Error(
                "The upload API authenticates with DRF tokens, but 'rest_framework.authtoken' is "
                "not in INSTALLED_APPS.",
                hint="Add it (and migrate), or set UPLOAD_API_AUTHENTICATION_CLASSES without "
                "TokenAuthentication.",
                id="uploads.E015",
            )
        ]
    return []


def _sign_in_problems() -> list[CheckMessage]:
    """Warn when the app's pages are routed but LOGIN_URL, where they send visitors, is not."""
    try:
        reverse("uploads:uploader")
    except NoReverseMatch:
        return []  # the pages are not included: only the API is in use
    login_url = str(settings.LOGIN_URL)
    if "://" in login_url or login_url.startswith("//"):
        return []  # another site signs people in
    if _resolves(login_url):
        return []
    return [
        Warning(
            f"LOGIN_URL ({login_url!r}) leads nowhere, so the upload pages cannot send visitors "
            "to sign in.",
            hint="Include django.contrib.auth.urls (path('accounts/', include("
            "'django.contrib.auth.urls'))) or set LOGIN_URL to your sign-in page.",
            id="uploads.W003",
        )
    ]


def _resolves(login_url: str) -> bool:
    """Tell whether a site path or URL name leads to a view of this project."""
    if login_url.startswith("/"):
        try:
            resolve(urlsplit(login_url).path)
        except Resolver404:
            return False
        return True
    try:
        reverse(login_url)
    except NoReverseMatch:
        return False
    return True


def _throttle_problems() -> list[CheckMessage]:
    """Report rates that cannot be read, and a throttle cache that is missing or not shared."""
    problems: list[CheckMessage] = []
    for scope in ("create", "authorize", "parts"):
        rate = conf.throttle_rate(scope)
        try:
            if rate is not None:
                rate_limits.parse_rate(rate)
        except ValueError:
            problems.append(
                Error(
                    f"UPLOAD_THROTTLE_{scope.upper()} is not a rate: {rate!r}.",
                    hint="Write it like '60/minute' (N/second|minute|hour|day), or '' for none.",
                    id="uploads.E017",
                )
            )
    alias = str(conf.get("UPLOAD_THROTTLE_CACHE") or "")
    if alias and alias not in settings.CACHES:
        problems.append(
            Error(f"UPLOAD_THROTTLE_CACHE names no cache of CACHES: {alias!r}.", id="uploads.E018")
        )
    elif alias and not rate_limits.is_shared(caches[alias]):
        problems.append(
            Warning(
                f"UPLOAD_THROTTLE_CACHE names a cache ({alias!r}) that app processes do not share, "
                "or that cannot count atomically: each worker may allow the whole rate.",
                hint="Name a Redis or Memcached cache, or leave it empty to count in the app's "
                "table.",
                id="uploads.W005",
            )
        )
    return problems


def _attach_problems() -> list[CheckMessage]:
    """Report allowed networks or ports for fetching attached URLs that cannot be read."""
    problems: list[CheckMessage] = []
    networks_hint = "Write networks as CIDR strings with no host bits set, like '10.20.0.0/16'."
    ports_hint = "Write ports as numbers from 1 to 65535, like 443."
    for read, hint in (
        (conf.attach_allowed_networks, networks_hint),
        (conf.attach_allowed_ports, ports_hint),
    ):
        try:
            read()
        except ImproperlyConfigured as error:
            problems.append(Error(str(error), hint=hint, id="uploads.E022"))
    return problems
