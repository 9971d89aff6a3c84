"""The benchmarks run: each script under bench/, in its own process as `make bench` runs it, with
sizes small enough for a test run, exits 0 and prints its table. Timings and ratios are never
asserted, nor that a cell completed anything: on a busy machine a 0.3 s cell may complete no
request, and its figures then print as n/a (bench/support/figures.py)."""

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def run_bench(script: str, *args: str, timeout: float = 600, **settings: str) -> str:
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
    for row in ("ours (", "boto3 upload_file", "boto3, 4 x server parts", "proxied Django view"):
        assert row in out
    assert "Django CPU per GiB, direct / proxied" in out


@pytest.mark.functional
def test_complete_bench_prints_its_table():
    out = run_bench("complete.py", "--parts", "2", "--rounds", "2")
    assert "Complete: multipart uploads of 2 parts" in out
    for row in ("S3 alone: CompleteMultipartUpload", "ours: complete", "ours / S3 alone"):
        assert row in out


@pytest.mark.s3strict
def test_complete_bench_runs_on_rgw_too():
    out = run_bench("complete.py", "--s3", "rgw", "--parts", "2", "--rounds", "2")
    assert "on Ceph RGW" in out and "ours / S3 alone" in out


@pytest.mark.s3strict
def test_bytes_bench_runs_on_rgw_too():
    out = run_bench(
        "bytes.py", "--s3", "rgw", "--size-mib", "3", "--small-mib", "0", "--warm-mib", "1"
    )
    assert "Bytes: one MP4 to Ceph RGW" in out
    for row in ("ours (", "boto3 upload_file", "proxied Django view"):
        assert row in out


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
        for size in (3, 11):
            assert re.search(rf"^{re.escape(row)}.* {size} ", out, re.M), f"{row}, {size} MiB"


@pytest.mark.functional
def test_cli_upload_bench_prints_its_table():
    out = run_bench("cli_upload.py", "--size-mib", "11", "--part-mib", "5", "--rounds", "1")
    assert "MiB MP4 to moto" in out and "boto3" in out


@pytest.mark.functional
def test_multipart_upload_bench_prints_its_table():
    out = run_bench("multipart_upload.py", "--size-mib", "11", "--part-mib", "5")
    assert "single POST" in out and "multipart" in out


@pytest.mark.functional
def test_analysis_bench_prints_its_tables():
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        skip_or_fail("ffmpeg/ffprobe are missing (apt-get install ffmpeg)")
    out = run_bench("analysis.py", "--sizes-mib", "1", "--rounds", "1")
    assert "Analysis: H.264 + AAC MP4s" in out and "Where the time went" in out
    # One row in each table: the figures, then the split between ffprobe and the poster.
    assert len(re.findall(r"^moov at end +1 ", out, re.M)) == 2, out


# ---------------------------------------------------------------- the tables, whatever the counts


def test_the_issuance_table_prints_when_a_cell_completed_nothing(capsys):
    from bench import issuance
    from bench.support.load import Result

    names = list(issuance.operations())
    best = {(name, level): Result(0, 0.3, []) for name in names for level in (1, 2)}
    best[(names[1], 2)] = Result(3, 0.3, [0.01, 0.02, 0.03])  # one cell did complete some
    args = argparse.Namespace(workers=2, seconds=0.3, warmup=0.1, rounds=1, conn_max_age=600)
    issuance.print_tables(args, "sqlite", "moto", names, [1, 2], best, [("create", 2, "INSERT")])
    out = capsys.readouterr().out
    assert all(name in out for name in names) and "SQL queries per request" in out
    assert "n/a" in out


def test_the_bytes_table_prints_when_no_cpu_or_time_was_measured(capsys):
    from bench import bytes as bytes_bench

    size, small = 3 * bytes_bench.MiB, 1 * bytes_bench.MiB
    runs = [
        bytes_bench.Run(kind, variant, each, 0.0, 0.0, 0, 0)
        for each in (size, small)
        for kind, variant in (
            ("ours", "ours (page protocol)"),
            ("boto3", "boto3 upload_file"),
            ("proxied", "proxied Django view"),
        )
    ]
    bytes_bench.print_table(runs, "sqlite", [size, small], 1, "moto")
    out = capsys.readouterr().out
    assert "Django CPU per GiB, direct / proxied: n/a" in out and "ours vs boto3" in out


def test_the_browser_table_prints_when_no_time_was_measured(capsys):
    from bench import browser

    figures = dict.fromkeys(("wall", "s3", "app", "browser", "boto3", "busy", "total"), 0.0)
    best = {
        (name, 3 * browser.MiB): dict(figures, send=0.0) for name in ("page", "boto3", "ceiling")
    }
    browser.print_table(best, [3 * browser.MiB], 1, "sqlite", 4, "moto")
    out = capsys.readouterr().out
    assert "ceiling: bare fetch" in out and "n/a" in out


# ---------------------------------------------------------------- the load bench


@pytest.mark.functional
def test_load_bench_prints_its_tables():
    # One node (Redis, then the app's table) and two; the rows say which store counted.
    out = run_bench(
        "load.py",
        *("--clients", "4", "--seconds", "1", "--warmup", "0.3", "--baseline-seconds", "0.5"),
        *("--nodes", "1,2"),
        timeout=120,
    )
    assert "Load: 4 clients" in out
    for nodes in (1, 2):
        assert re.search(rf"^ +{nodes} (Redis|table) ", out, re.M), f"{nodes} node(s)"
    for part in ("Latency in ms", "Errors, whole run", "Throttle counts, by row"):
        assert part in out
    assert "the app's table (uploads_throttlecount)" in out


def test_the_load_table_prints_when_a_row_measured_nothing(capsys):
    from bench import load as load_bench
    from bench.support.load import Tally

    empty = Tally(0, 0.5, [])
    row = load_bench.Row(1, "locmemcache://", "table", empty, empty, 0.0, 0.0, 0.0, "", [])
    args = argparse.Namespace(
        clients=4, size_kib=64, workers=2, seconds=1.0, warmup=0.3, baseline_seconds=0.5
    )
    load_bench.print_tables(args, [row], "moto", "sqlite", (0.0, 0.0, 0.0), [])
    out = capsys.readouterr().out
    assert "n/a" in out and "Throttle counts, by row" in out


def test_the_load_generator_counts_failures_by_step_and_goes_on():
    import asyncio

    from bench.support import load

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        length = int(head.lower().split("content-length:")[1].split("\r\n")[0])
        body = await reader.readexactly(length)
        if head.startswith("POST /form"):
            # A chunked answer, echoing the file part's bytes the multipart body carried.
            found = body.split(b"\r\n\r\n", 3)[-1].rsplit(b"\r\n--", 1)[0]
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(found), found))
        else:
            writer.write(b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 2\r\n\r\n{}")
        await writer.drain()
        writer.close()

    async def scenario() -> tuple[bytes, load.Tally]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            answer = await load.post_form(
                f"http://127.0.0.1:{port}/form", {"key": "a"}, "a.bin", b"data", "video/mp4"
            )

            async def refused(client: load.Client, steps: load.Steps) -> None:
                await steps.call("create", client.request("POST", "/api/media/"))

            tally = await load._run_counted(
                [load.Client("127.0.0.1", port, "token")], refused, 0.0, 0.2
            )
        return answer.content, tally

    # A thread of its own: after the browser tests, Playwright's loop runs in this one.
    with ThreadPoolExecutor(1) as pool:
        content, tally = pool.submit(asyncio.run, scenario()).result()
    assert content == b"data"
    assert tally.operations == 0 and tally.errors[("create", "429")] >= 2
    assert tally.errors_of("create") == sum(tally.errors.values())


@pytest.mark.s3strict
def test_sweeps_bench_checks_what_each_sweep_did_on_rgw():
    # The bench itself exits 1 when a sweep did more or less than its mix asked for, alone or
    # beside another run of it.
    out = run_bench("sweeps.py", "--s3", "rgw", "--items", "100,200", "--concurrent", "100")
    assert "Sweeps: " in out and "Ceph RGW" in out and "Growth from 100 to 200 items" in out
    assert "nothing twice (checked)" in out
