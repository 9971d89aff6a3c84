"""The test matrix: the suite on the oldest and the newest supported (Python, Django) pair.

`nox` runs both (`make test` does, through `make test-matrix`); `nox -s "tests(newest)"` one. Each
pair installs exactly the versions locked in requirements/<pair>.txt (`make lock` renews them).
The newest pair runs every tier; the oldest runs unit, functional, db and the sample project with
the two speed shortcuts off (UPLOAD_SPEED_SHORTCUTS=false), so those tiers run both ways.
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

# The pairs: Python, the tiers pytest runs (the sample project and PostgreSQL runs included), and
# UPLOAD_SPEED_SHORTCUTS. The oldest pair runs with the shortcuts off (botocore's presigner, DRF's
# own representation) and the newest with them on, so the unit, functional and db tiers
# run both ways at no extra cost; tests/test_fast_paths.py checks both ways on each pair.
PAIRS = [
    ("3.11", "oldest", "not browser and not s3strict and not package", "false"),
    ("3.13", "newest", "", "true"),
]
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


@nox.session
@nox.parametrize(
    "python,pair,marks,shortcuts", [pair for pair in PAIRS], ids=[pair[1] for pair in PAIRS]
)
def tests(session: nox.Session, pair: str, marks: str, shortcuts: str) -> None:
    """Install the pair's locked versions and the project, then run its tiers."""
    session.install("-r", f"requirements/{pair}.txt")
    session.install("--no-deps", "-e", ".")
    session.env["UPLOAD_SPEED_SHORTCUTS"] = shortcuts
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
