"""The test matrix: the suite on the oldest and the newest supported (Python, Django) pair.

`nox` runs both (`make test` does, through `make test-matrix`); `nox -s "tests(newest)"` one. Each
pair installs exactly the versions locked in requirements/<pair>.txt (`make lock` renews them).
The newest pair runs every tier, then the unit and functional tiers again with the speed shortcuts
off (UPLOAD_SPEED_SHORTCUTS=false); the oldest runs unit, functional, db and the sample project.
"""

import os
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

# pyenv's interpreters, for machines whose PATH holds only pyenv's shims for the other versions.
os.environ["PATH"] = os.pathsep.join(
    [*map(str, sorted(Path.home().glob(".pyenv/versions/3.1[1-9].*/bin"))), os.environ["PATH"]]
)

# The pairs: Python, and the tiers pytest runs (the sample project and PostgreSQL runs included).
PAIRS = [
    ("3.11", "oldest", "not browser and not s3strict and not package"),
    ("3.13", "newest", ""),
]
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
# The newest pair runs the unit and functional tiers once more with the two speed shortcuts off
# (UPLOAD_SPEED_SHORTCUTS=false: botocore's presigner, DRF's own representation). Not the two
# slowest files, whose apps run in child processes of their own: the benches' smoke tests (they
# measure the shortcuts) and `runlocal`'s (it signs nothing of its own).
SHORTCUTS_OFF = ["-m", "not db and not browser and not s3strict and not package"]
SHORTCUTS_OFF_SKIPS = ["--ignore=tests/test_bench_smoke.py", "--ignore=tests/test_runlocal.py"]


@nox.session
@nox.parametrize("python,pair,marks", [pair for pair in PAIRS], ids=[name for _, name, _ in PAIRS])
def tests(session: nox.Session, pair: str, marks: str) -> None:
    """Install the pair's locked versions and the project, then run its tiers."""
    session.install("-r", f"requirements/{pair}.txt")
    session.install("--no-deps", "-e", ".")
    pytest = ["python", "-m", "pytest", *(["-m", marks] if marks else []), *session.posargs]
    session.run(*pytest)
    session.run(
        *pytest,
        "tests/sampleproject",
        "--no-migrations",
        env={"DJANGO_SETTINGS_MODULE": "tests.sampleproject.settings"},
    )
    db_only = ["-m", f"db and ({marks})" if marks else "db"]
    session.run(*pytest[:3], *db_only, *session.posargs, env={"DATABASE_URL": POSTGRES_URL})
    if pair == "newest":
        session.run(
            *pytest[:3],
            *SHORTCUTS_OFF,
            *SHORTCUTS_OFF_SKIPS,
            *session.posargs,
            env={"UPLOAD_SPEED_SHORTCUTS": "false"},
        )
