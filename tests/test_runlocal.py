"""`manage.py runlocal` (what `make run` starts): app and local S3 come up, Ctrl-C stops both."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.live import sign_in, wait_for
from uploads.storage.local_s3 import free_port, is_listening

pytestmark = pytest.mark.functional

ROOT = Path(__file__).resolve().parent.parent


def test_runlocal_serves_the_app_and_ctrl_c_stops_everything(tmp_path):
    app_port, s3_port = free_port(), free_port()
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
        "CONTENT_UPLOAD_BUCKET": "local-bucket",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local-secret",
        "DJANGO_SETTINGS_MODULE": "mediaupload.settings",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("SECRET_KEY", None)
    process = subprocess.Popen(
        [
            *[sys.executable, "manage.py", "runlocal", f"127.0.0.1:{app_port}"],
            *["--demo", "--data-dir", str(tmp_path / "data")],
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a terminal would give it
    )
    try:
        login = wait_for(f"http://127.0.0.1:{app_port}/accounts/login/", process)
        assert login.status_code == 200
        assert is_listening("127.0.0.1", s3_port)
        sign_in(f"http://127.0.0.1:{app_port}", "demo", "demo")  # lands on /upload/
        preflight = requests.options(
            f"http://127.0.0.1:{s3_port}/local-bucket",
            headers={
                "Origin": f"http://127.0.0.1:{app_port}",
                "Access-Control-Request-Method": "POST",
            },
            timeout=5,
        )
        assert (
            preflight.headers.get("Access-Control-Allow-Origin") == f"http://127.0.0.1:{app_port}"
        )
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does to the foreground process group
        output = process.communicate(timeout=30)[0].decode()
    assert "Sign in as demo / demo" in output
    assert f"Open http://127.0.0.1:{app_port}/upload/" in output
    assert (tmp_path / "data" / "local-s3.log").exists()
    assert not is_listening("127.0.0.1", s3_port), output
    assert not is_listening("127.0.0.1", app_port), output
