"""The benchmarks run: each script under bench/, in its own process as `make bench` runs it, with
sizes small enough for a test run, exits 0 and prints its table. Timings are never asserted."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def run_bench(script: str, *args: str, timeout: float = 120, **settings: str) -> str:
    """Run one bench script in its own process (with these settings in its environment, for the
    app it starts); return its output (fail with it on an error)."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(settings)
    done = subprocess.run(
        [sys.executable, f"bench/{script}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{script} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.functional
def test_issuance_bench_prints_its_tables():
    out = run_bench(
        "issuance.py", "--clients", "1,2", "--seconds", "0.3", "--warmup", "0.1", "--rounds", "1"
    )
    assert "Issuance: gunicorn" in out
    for row in ("baseline (no upload logic)", "ours: create, 1 MiB", "ours: create, 200 MiB"):
        assert row in out
    assert "SQL queries per request" in out
    assert "complete, multipart upload" in out


@pytest.mark.functional
def test_bytes_bench_prints_its_table():
    out = run_bench("bytes.py", "--size-mib", "3", "--small-mib", "0", "--warm-mib", "1")
    assert "Bytes: one MP4" in out
    for row in ("ours (", "boto3 upload_file", "proxied Django view"):
        assert row in out
    assert "Django CPU per GiB, direct / proxied" in out


@pytest.mark.functional
@pytest.mark.browser
def test_browser_bench_prints_its_table():
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing (CI=true: tiers may not skip)", pytrace=False)
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    # 3 MiB goes up as one POST; 11 MiB in 5 MiB parts, so the parts' own columns are filled too.
    out = run_bench(
        "browser.py",
        *("--sizes-mib", "3,11", "--rounds", "1"),
        UPLOAD_MULTIPART_THRESHOLD=str(6 * 1024**2),
        UPLOAD_PART_SIZE=str(5 * 1024**2),
    )
    assert "Browser: headless Chromium" in out
    for row in ("page /upload/", "boto3 upload_file", "ceiling: bare fetch"):
        assert row in out
    ceiling_11 = next(
        line for line in out.splitlines() if line.startswith("ceiling") and " 11 " in line
    )
    ratios = re.findall(r"\d+\.\d\dx", ceiling_11)
    assert len(ratios) == 2, f"the whole uploads and the parts alone are compared: {ceiling_11}"


@pytest.mark.functional
def test_cli_upload_bench_prints_its_table():
    out = run_bench("cli_upload.py", "--size-mib", "11", "--part-mib", "5", "--rounds", "1")
    assert "MiB MP4 to moto" in out and "boto3" in out


@pytest.mark.functional
def test_multipart_upload_bench_prints_its_table():
    out = run_bench("multipart_upload.py", "--size-mib", "11", "--part-mib", "5")
    assert "single POST" in out and "multipart" in out
