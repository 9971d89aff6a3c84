"""A server in another process, as people use it: wait for it to answer, sign in by its form."""

import subprocess
import time
from pathlib import Path
from typing import Any

import requests
from django.db import connection


def wait_for(
    url: str, process: subprocess.Popen[Any], log: Path | None = None, timeout: float = 60
) -> requests.Response:
    """Return the first answer from url; fail with the process's output if it dies or time runs
    out (from `log`, or from its piped stdout once it has ended)."""

    def output() -> str:
        if log is not None:
            return log.read_text()
        if process.poll() is not None and process.stdout is not None:
            text = process.stdout.read()
            return text.decode() if isinstance(text, bytes) else str(text)
        return ""

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited {process.returncode}:\n{output()}")
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout:.0f} s:\n{output()}")


def sign_in(
    base: str,
    username: str,
    password: str,
    *,
    form: str = "/accounts/login/",
    then: str = "/upload/",
) -> requests.Session:
    """Sign in through a sign-in form, as someone sent there from `then` is; return the session."""
    session = requests.Session()
    session.get(f"{base}{form}?next={then}", timeout=10)
    answer = session.post(
        f"{base}{form}?next={then}",
        data={
            "username": username,
            "password": password,
            "next": then,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        timeout=10,
    )
    assert answer.status_code == 200 and answer.url == base + then, answer.text[:500]
    return session


def database_url() -> str:
    """The test database, as a DATABASE_URL for servers started in other processes."""
    database = connection.settings_dict
    if connection.vendor == "postgresql":
        return f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    return f"sqlite:///{database['NAME']}"
