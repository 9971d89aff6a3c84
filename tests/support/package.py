"""The package tier's tools: build the distribution, install it into a fresh virtualenv, and make a
project there with `django-admin startproject` and the README's Install blocks."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOST_APP = ROOT / "tests" / "hostproject" / "library"
# What a subprocess of the installed project may see of ours: nothing that points into this
# checkout (DJANGO_SETTINGS_MODULE, PYTHONPATH) or at another S3.
_KEPT_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


def uv(*args: str, cwd: Path | None = None) -> str:
    """Run uv (installed beside the tests) and return its output; fail with it on an error."""
    return run([sys.executable, "-m", "uv", *args], cwd=cwd)


def run(command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a command to its end; return stdout and stderr together, failing the test on an error."""
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{output}"
    return output


def build(out: Path) -> tuple[Path, Path]:
    """Build the sdist of this checkout, then the wheel from the sdist (in a directory of uv's, so
    setuptools leaves no build/ in the checkout, and the sdist is shown complete); return them."""
    uv("build", "--out-dir", str(out), str(ROOT))
    [wheel] = out.glob("*.whl")
    [sdist] = out.glob("*.tar.gz")
    return wheel, sdist


def readme_blocks(title: str) -> str:
    """Return the README's fenced code blocks titled exactly so (```python title="…"), joined."""
    text = (ROOT / "README.md").read_text()
    pattern = re.compile(
        r'^( *)```python title="' + re.escape(title) + r'"\n(.*?)^\1```$', re.S | re.M
    )
    blocks = [
        "\n".join(line.removeprefix(indent) for line in body.splitlines())
        for indent, body in pattern.findall(text)
    ]
    assert blocks, f'the README has no block titled "{title}"'
    return "\n\n".join(blocks) + "\n"


@dataclass
class Venv:
    """A fresh virtualenv with the wheel installed."""

    path: Path

    @property
    def python(self) -> str:
        """Its interpreter."""
        return str(self.path / "bin" / "python")

    def bin(self, name: str) -> str:
        """A console script it installed."""
        return str(self.path / "bin" / name)

    def install(self, *requirements: str) -> None:
        """Install requirements (the wheel, with extras; a Django version) as a user would."""
        uv("pip", "install", "--python", self.python, "--quiet", *requirements)

    def distributions(self) -> set[str]:
        """The names of every installed distribution, normalised."""
        listing = uv("pip", "list", "--python", self.python, "--format", "json").splitlines()[0]
        return {re.sub(r"[-_.]+", "-", item["name"]).lower() for item in json.loads(listing)}


def make_venv(path: Path, wheel: Path) -> Venv:
    """Make a virtualenv on this interpreter and install the wheel, no extras."""
    uv("venv", "--quiet", "--python", sys.executable, str(path))
    venv = Venv(path)
    venv.install(str(wheel))
    return venv


@dataclass
class HostProject:
    """A project made by `django-admin startproject` in the virtualenv, with the team's app."""

    venv: Venv
    root: Path
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def settings_file(self) -> Path:
        """Its settings.py."""
        return self.root / "hostsite" / "settings.py"

    @property
    def urls_file(self) -> Path:
        """Its urls.py."""
        return self.root / "hostsite" / "urls.py"

    def env(self) -> dict[str, str]:
        """The environment its commands run in: the machine's basics and the project's own."""
        basics = {name: os.environ[name] for name in _KEPT_ENVIRONMENT if name in os.environ}
        return {**basics, "PYTHONUNBUFFERED": "1", **self.environment}

    def append(self, path: Path, text: str) -> None:
        """Add lines at the end of one of its files."""
        with path.open("a") as out:
            out.write("\n" + text)

    def manage(self, *args: str) -> str:
        """Run a management command to its end and return its output."""
        return run([self.venv.python, "manage.py", *args], cwd=self.root, env=self.env())

    def manage_failing(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a management command expected to fail."""
        return subprocess.run(
            [self.venv.python, "manage.py", *args],
            cwd=self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    @property
    def log(self) -> Path:
        """Where a started command's output goes."""
        return self.root / "server.log"

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start a long-running management command in its own process group, output to `log`."""
        with self.log.open("a") as log:
            return subprocess.Popen(
                [self.venv.python, "manage.py", *args],
                cwd=self.root,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )


def make_project(venv: Venv, root: Path, environment: dict[str, str]) -> HostProject:
    """startproject, the team's app (models, admin, API) and its migration; nothing of ours yet."""
    root.mkdir(parents=True)
    project = HostProject(venv, root, environment)
    run([venv.bin("django-admin"), "startproject", "hostsite", str(root)], env=project.env())
    shutil.copytree(HOST_APP, root / "library")
    return project


def stop(process: subprocess.Popen[str]) -> None:
    """Stop a started command (and its children) as Ctrl-C would."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# `import … from "./x.js"`, `export … from "./x.js"`, `import "./x.js"` (not JSDoc's type imports).
_MODULE_IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^;"']*?(?:\bfrom\s*)?["'](\.{1,2}/[^"']+)["']""", re.M
)


def hashed_module_imports(static_root: Path) -> dict[str, list[str]]:
    """Every relative import of every hashed ES module under uploads/: {module: [targets]}."""
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    return {
        hashed: _MODULE_IMPORT.findall((static_root / hashed).read_text())
        for original, hashed in manifest.items()
        if original.startswith("uploads/") and original.endswith(".js")
    }
