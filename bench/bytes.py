"""Benchmark: moving a large file's bytes to S3, and what the Django process pays for it.

Run: `.venv/bin/python bench/bytes.py [--size-mib 1024] [--small-mib 256] [--rounds 2]
[--s3 moto|rgw]`. One run starts the S3 store (moto, or Ceph RGW) and the app under gunicorn (one
sync worker, `bench.support.settings`, PostgreSQL when it answers), then uploads the same MP4 file
three ways, each from its own process:

- ours: our protocol as a client does it: create, parts/ in batches, parts PUT 4 at a time
  straight to S3, complete (verification), with the CLI (`python -m uploads.cli upload
  --no-resume`), or with `--client requests` the bench's plain `requests` client
  (`bench/support/client.py`);
- boto3: `upload_file` straight to the bucket (no checksums, like our parts; Django not involved),
  with its defaults (8 MiB parts, 10 threads) and like for like (the CLI's 4 threads, the server's
  part size);
- proxied: the typical approach the app replaces: the file PUT to a Django view (bench-only) that
  streams it on to S3 with boto3's managed upload.

For each it reports MiB/s, and the gunicorn worker's CPU seconds (/proc/<pid>/stat, and the
nanosecond schedstat of its threads) and peak RSS (VmHWM, reset with clear_refs after a warm-up
upload that goes through the same code) for the upload, per GiB. The app is restarted, and the
store emptied (moto restarted), before every upload, so no run pays for the memory of another. Ours
and the proxied view also run at `--small-mib`, to show whether the worker's memory grows with the
file, and to split our CPU into what every upload costs and what each GiB adds. The app keeps its
database connections (`?conn_max_age=600`), as a production deployment would.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import servers  # noqa: E402
from bench.support.figures import per, ratio, show  # noqa: E402

MiB = 1024**2
GiB = 1024**3
# Parts our clients send at once; boto3's like-for-like run uses as many threads.
CLI_PARALLEL = 4


@dataclass(frozen=True)
class Run:
    """One upload: who sent it (kind: ours, boto3, boto3-like, proxied), how big, how long, what
    the Django worker spent."""

    kind: str
    variant: str
    size: int
    seconds: float
    django_cpu: float
    rss_before: int
    rss_peak: int

    @property
    def mib_per_s(self) -> float:
        """Throughput in MiB/s (NaN if no time was measured)."""
        return per(self.size / MiB, self.seconds)

    @property
    def cpu_per_gib(self) -> float:
        """Django CPU seconds per GiB moved."""
        return per(self.django_cpu * GiB, self.size)


def client_command(
    kind: str, path: Path, app: servers.App, s3: servers.S3Server, cli: bool
) -> list[str]:
    """The command line of one upload."""
    if kind == "ours" and cli:
        return [
            sys.executable,
            "-m",
            "uploads.cli",
            "upload",
            str(path),
            "--server",
            app.url,
            "--json",
            "--no-resume",
            "--parallel",
            str(CLI_PARALLEL),
        ]
    if kind == "ours":
        return [sys.executable, "-m", "bench.support.client", "api", str(path), "--server", app.url]
    if kind == "boto3":
        return servers.boto3_command(path, s3)
    if kind == "boto3-like":
        from uploads import conf

        return servers.boto3_command(path, s3, threads=CLI_PARALLEL, part_size=conf.part_size())
    return [sys.executable, "-m", "bench.support.client", "proxied", str(path), "--server", app.url]


def run_client(command: list[str], token: str) -> float:
    """Run one upload in its own process; return its wall time (fail loudly if it failed)."""
    env = {**os.environ, "MEDIAUPLOAD_TOKEN": token, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(command[:5])} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    last = done.stdout.strip().splitlines()[-1]
    answer = json.loads(last)
    status = answer.get("status") or answer.get("result", {}).get("status", "uploaded")
    if status not in ("uploaded", None):
        raise SystemExit(f"the upload ended {status}: {last}")
    return seconds


def measure(
    kind: str,
    label: str,
    path: Path,
    size: int,
    warm: Path,
    env: dict[str, str],
    workdir: Path,
    s3: servers.S3Server,
    token: str,
    cli: bool,
) -> Run:
    """Empty the store, restart the app, warm the worker up, then upload and read the worker's
    figures."""
    s3.start()
    app = servers.App(env, workdir, workers=1)
    app.start()
    try:
        (pid,) = app.worker_pids()
        if not kind.startswith("boto3"):
            run_client(client_command(kind, warm, app, s3, cli), token)  # imports, clients, pools
        before = servers.memory(pid)["VmRSS"]
        servers.reset_peak(pid)
        cpu = servers.precise_cpu_seconds(pid)
        seconds = run_client(client_command(kind, path, app, s3, cli), token)
        cpu = servers.precise_cpu_seconds(pid) - cpu
        peak = servers.memory(pid)["VmHWM"]
    finally:
        app.stop()
    return Run(kind, label, size, seconds, cpu, before, peak)


def main() -> None:
    """Upload the file each way; print the table and the targets."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024, help="the compared file's size")
    parser.add_argument("--small-mib", type=int, default=256, help="second size, for RSS (0: none)")
    parser.add_argument(
        "--warm-mib",
        type=int,
        default=65,
        help="the warm-up upload before each measured one (65: just over the multipart threshold)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="uploads of each kind, interleaved; the least CPU and time are kept",
    )
    parser.add_argument(
        "--client",
        choices=["cli", "requests"],
        default="cli",
        help="our protocol's client: the CLI, or the bench's plain requests client",
    )
    servers.add_s3_argument(parser)
    args = parser.parse_args()
    cli = args.client == "cli"
    ours = "ours (uploads.cli)" if cli else "ours (requests client)"
    sizes = [args.size_mib * MiB, *([args.small_mib * MiB] if args.small_mib else [])]

    with (
        servers.workdir("bench-bytes-") as workdir,
        servers.s3_server(args.s3, workdir, largest=max(sizes)) as s3,
    ):
        database = servers.Database.create(workdir)
        env = servers.bench_env(workdir, database, s3)
        runs: list[Run] = []
        try:
            servers.setup_django(env)
            token = servers.make_user()
            warm_direct, warm_proxied = workdir / "warm-direct.mp4", workdir / "warm-proxied.mp4"
            # Just over the threshold: the multipart path; three 8 MiB parts in boto3's upload.
            servers.write_media(warm_direct, args.warm_mib * MiB)
            servers.write_media(warm_proxied, min(17, args.warm_mib) * MiB)
            files = {}
            for size in sizes:
                files[size] = workdir / f"clip-{size // MiB}.mp4"
                servers.write_media(files[size], size)
            plan = [
                ("ours", ours, sizes[0]),
                ("boto3", "boto3 upload_file", sizes[0]),
                ("boto3-like", "boto3, 4 x server parts", sizes[0]),
                ("proxied", "proxied Django view", sizes[0]),
            ]
            for size in sizes[1:]:
                plan += [("ours", ours, size), ("proxied", "proxied Django view", size)]
            best: dict[tuple[str, int], Run] = {}
            for _ in range(args.rounds):  # interleaved, so a slow spell of the machine hits all
                for kind, label, size in plan:
                    warm = warm_proxied if kind == "proxied" else warm_direct
                    run = measure(
                        kind, label, files[size], size, warm, env, workdir, s3, token, cli
                    )
                    kept = best.get((kind, size))
                    # The fastest transfer, the least CPU, and the highest peak RSS of the rounds.
                    best[(kind, size)] = (
                        run
                        if kept is None
                        else Run(
                            kind,
                            label,
                            size,
                            min(run.seconds, kept.seconds),
                            min(run.django_cpu, kept.django_cpu),
                            max(run.rss_before, kept.rss_before),
                            max(run.rss_peak, kept.rss_peak),
                        )
                    )
            runs = [best[(kind, size)] for kind, _, size in plan]
        finally:
            s3.stop()
            from django.db import connections

            connections.close_all()
            database.drop()

    print_table(runs, database.vendor, sizes, args.rounds, s3.name)


def print_table(runs: list[Run], vendor: str, sizes: list[int], rounds: int, store: str) -> None:
    """Print one row per upload, then each target with its ratio."""
    print(
        f"\nBytes: one MP4 to {store} on 127.0.0.1 (emptied before each upload); "
        f"the app under "
        f"gunicorn, 1 sync worker, {vendor}; Django figures are that worker's; best of {rounds} "
        f"(peak RSS: the highest) ({time.strftime('%Y-%m-%d')})\n"
    )
    print(
        f"{'variant':<24} {'MiB':>5} {'wall s':>7} {'MiB/s':>6} {'Django CPU s':>12} "
        f"{'CPU s/GiB':>9} {'RSS before':>10} {'peak RSS':>9}"
    )
    for run in runs:
        django = not run.kind.startswith("boto3")
        cpu = f"{run.django_cpu:>12.2f}" if django else f"{'-':>12}"
        per_gib = f"{show(run.cpu_per_gib, '.3f'):>9}" if django else f"{'-':>9}"
        print(
            f"{run.variant:<24} {run.size // MiB:>5} {run.seconds:>7.1f} "
            f"{show(run.mib_per_s, '.0f'):>6} {cpu} {per_gib} {run.rss_before / MiB:>6.0f} MiB "
            f"{run.rss_peak / MiB:>5.0f} MiB"
        )
    by = {(run.kind, run.size): run for run in runs}
    big = sizes[0]
    ours_big, proxied_big = by[("ours", big)], by[("proxied", big)]
    like = by.get(("boto3-like", big))
    like_for_like = ratio(ours_big.mib_per_s, like.mib_per_s) if like else "n/a"
    # Figures a busy machine or a tiny size can leave at zero (no CPU tick seen) print as n/a.
    share = show(per(ours_big.cpu_per_gib, proxied_big.cpu_per_gib), ".2%")
    print(
        f"\nDjango CPU per GiB, direct / proxied: {share} (target <= 1%)"
        f"\nours vs boto3 upload_file: {ratio(ours_big.mib_per_s, by[('boto3', big)].mib_per_s)}"
        f" (defaults), {like_for_like} (like for like: {CLI_PARALLEL} threads, the server's parts);"
        f" vs proxied: {ratio(ours_big.mib_per_s, proxied_big.mib_per_s)}"
    )
    if len(sizes) > 1 and sizes[1] != big:
        # Two sizes: what an upload costs whatever its size, and what each GiB adds.
        small = sizes[1]
        ours_small = by[("ours", small)]
        per_gib_s = max(0.0, (ours_big.django_cpu - ours_small.django_cpu) / ((big - small) / GiB))
        fixed = ours_big.django_cpu - per_gib_s * big / GiB
        budget = per(proxied_big.cpu_per_gib, 100) or math.nan  # 1% of the proxied view's
        print(
            f"ours: {fixed * 1000:.0f} ms per upload (create, parts/ calls, complete) + "
            f"{per_gib_s * 1000:.0f} ms per GiB "
            f"({show(per(per_gib_s, proxied_big.cpu_per_gib), '.2%')}"
            f" of the proxied view's per GiB); 1% holds from "
            f"{show(per(fixed, max(budget - per_gib_s, 1e-9)), '.1f')} GiB up"
        )
    for name in ("ours", "proxied") if len(sizes) > 1 else ():
        small = sizes[1]
        growth = by[(name, big)].rss_peak - by[(name, small)].rss_peak
        print(
            f"{by[(name, big)].variant}: peak RSS at {big // MiB} MiB minus at {small // MiB} MiB: "
            f"{growth / MiB:+.1f} MiB"
        )


if __name__ == "__main__":
    main()
