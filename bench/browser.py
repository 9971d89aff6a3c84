"""Benchmark: the uploader page in headless Chromium, against boto3 and the browser's ceiling.

Run: `.venv/bin/python bench/browser.py [--sizes-mib 256,1024] [--rounds 3] [--parallel 4]
[--s3 moto|rgw]`. One run starts the S3 store (moto or Ceph RGW; CORS for the app's origin), the
app under gunicorn (2 sync workers, DEBUG off, hashed static files, `bench.support.settings`,
PostgreSQL when it answers) and Debian's Chromium through Playwright, then uploads each file (an
MP4: real header, random bytes, on disk):

- page: the real uploader at `/upload/`, signed in through the login form; the file is picked in
  its file input (Chromium reads it from disk), until the row says `data-status="uploaded"`
  (create, parts/, the parts PUT by the page, complete with the server's verification);
- boto3: `upload_file` of the same file from its own process, no checksums (like the page's
  parts; boto3's default CRC32s make moto's assembly slower);
- ceiling: what the browser itself can do: the same 16 MiB parts PUT by bare `fetch` calls, 4 at a
  time, to part URLs presigned beforehand by boto3, then CompleteMultipartUpload by `fetch`. No app
  code runs: it is the most any page could get from this browser and this S3.

The store is emptied (moto restarted) and the app restarted before every upload of 64 MiB or more,
so no run pays for the memory of another. The table also gives the CPU seconds each party spent
during the upload (the store,
Chromium with Playwright's driver, the app, the boto3 process) and the whole machine's: the
machine has 2 cores, which they share.
"""

import argparse
import math
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import servers  # noqa: E402
from bench.support.figures import per, ratio, show  # noqa: E402
from tests.support.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

MiB = 1024**2
PART = 16 * MiB
PARALLEL = 4
USERNAME, PASSWORD = "bench", "bench-password"

# The ceiling: parts PUT by bare fetch, PARALLEL at a time, then CompleteMultipartUpload.
CEILING_JS = """
async ({urls, completeUrl, partSize, parallel}) => {
  const file = document.getElementById("bench-file").files[0];
  const etags = new Array(urls.length);
  let next = 0;
  async function worker() {
    while (next < urls.length) {
      const index = next++;
      const body = file.slice(index * partSize, Math.min(file.size, (index + 1) * partSize));
      const answer = await fetch(urls[index], {method: "PUT", body});
      if (!answer.ok) throw new Error(`part ${index + 1}: ${answer.status}`);
      etags[index] = answer.headers.get("ETag");
      await answer.arrayBuffer(); // read to its end, as an XHR does: the request is then finished
    }
  }
  const started = performance.now();
  await Promise.all(Array.from({length: parallel}, worker));
  const parts = etags.map((etag, index) =>
    `<Part><PartNumber>${index + 1}</PartNumber><ETag>${etag}</ETag></Part>`).join("");
  const body = `<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`;
  const done = await fetch(completeUrl, {method: "POST", body});
  if (!done.ok) throw new Error(`complete: ${done.status} ${await done.text()}`);
  return (performance.now() - started) / 1000;
}
"""


class SendPhase:
    """When the parts were on the wire: from the first part PUT's start to the last one's end,
    by the browser's own request timings."""

    def __init__(self, page: Any) -> None:
        self.first, self.last = math.inf, 0.0
        page.on("requestfinished", self._finished)

    def _finished(self, request: Any) -> None:
        if request.method != "PUT" or "partNumber=" not in request.url:
            return
        timing = request.timing  # milliseconds: startTime since the epoch, the rest relative to it
        self.first = min(self.first, timing["startTime"])
        self.last = max(self.last, timing["startTime"] + timing["responseEnd"])

    @property
    def seconds(self) -> float:
        """How long the parts took, in seconds (0 if none was seen)."""
        return max(0.0, self.last - self.first) / 1000


@dataclass
class Meter:
    """CPU seconds spent during one upload: by the S3 store, the app, the browser, the boto3
    process, and the machine as a whole (all cores), and the wall time."""

    s3: servers.S3Server
    app: servers.App
    figures: dict[str, float] = field(default_factory=dict)
    _start: dict[str, float] = field(default_factory=dict)

    def _read(self) -> dict[str, float]:
        tree = servers.children_of()
        store_pids = set(self.s3.pids())
        app_pid = self.app.process.pid if self.app.process else -1
        own = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy, total = servers.machine_busy()
        return {
            "wall": time.perf_counter(),
            "s3": sum(servers.tree_cpu(pid, tree=tree) for pid in store_pids),
            "app": servers.tree_cpu(app_pid, tree=tree),
            # Chromium and Playwright's driver: our other descendants.
            "browser": servers.tree_cpu(os.getpid(), {*store_pids, app_pid}, tree=tree)
            - servers.cpu_seconds(os.getpid()),
            "boto3": own.ru_utime + own.ru_stime,
            "busy": busy,
            "total": total,
        }

    def start(self) -> None:
        """Take the starting figures."""
        self._start = self._read()

    def stop(self) -> float:
        """Take the differences; return the wall seconds."""
        end = self._read()
        # A process's CPU seconds only grow; a tiny negative difference is the clock tick's noise.
        self.figures = {name: max(0.0, end[name] - self._start[name]) for name in end}
        return self.figures["wall"]


class Bench:
    """The servers and the browser of one run."""

    def __init__(
        self,
        workdir: Path,
        env: dict[str, str],
        s3: servers.S3Server,
        browser: Any,
        parallel: int = PARALLEL,
        trace: Path | None = None,
    ) -> None:
        self.workdir, self.env, self.s3, self.browser = workdir, env, s3, browser
        self.parallel, self.trace = parallel, trace
        self.app: servers.App | None = None
        self.context: Any = None

    def restart(self, size: int = 0) -> servers.App:
        """Empty the store (moto: restarted; CORS for the app) and restart the app on the same
        port, before a large upload (so none pays for the memory of another); small ones share
        them."""
        if self.app is not None and size < 64 * MiB:
            return self.app
        if self.app is not None:
            self.app.stop()
        port = self.app.port if self.app else servers.free_port()
        app = servers.App(self.env, self.workdir, workers=2, port=port)
        self.s3.start(origins=[app.url])
        app.start()
        self.app = app
        return app

    def forget_records(self) -> None:
        """Delete earlier uploads' records: their objects went with the restarted S3, and the
        page's "My uploads" would ask S3 for them while the measured upload runs."""
        from uploads.models import MediaFile

        # In a thread of its own: Django's ORM refuses the thread running Playwright's event loop.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(lambda: MediaFile.objects.all().delete()).result()

    def page_upload(self, path: Path) -> Meter:
        """Upload through the uploader page: from picking the file to the row saying 'uploaded'."""
        app = self.restart(path.stat().st_size)
        self.forget_records()
        if self.context is None:
            self.context = self.browser.new_context()
            page = self.context.new_page()
            page.goto(f"{app.url}/accounts/login/?next=/upload/")
            page.fill("#id_username", USERNAME)
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{app.url}/upload/")
            page.close()
        page = self.context.new_page()
        sending = SendPhase(page)
        try:
            page.goto(f"{app.url}/upload/")
            page.wait_for_selector("#uploader[data-ready=true]")
            if self.trace is not None:
                self.trace.mkdir(parents=True, exist_ok=True)
                out = self.trace / f"page-{path.stat().st_size // MiB}MiB-{time.time():.0f}.json"
                self.browser.start_tracing(page=page, path=str(out))
            # The page itself says when the row settles (a MutationObserver): Playwright's own
            # waits poll, up to 500 ms apart, which a one-second upload can't afford.
            page.evaluate(SETTLED_JS)
            meter = Meter(self.s3, app)
            meter.start()
            page.set_input_files("#file-input", str(path))
            status = page.evaluate("() => window.benchSettled")
            meter.stop()
            if self.trace is not None:
                self.browser.stop_tracing()
            row = page.locator(".transfer").first
            meter.figures["send"] = sending.seconds
            if status != "uploaded":
                raise SystemExit(f"the page's upload ended {status}: {row.inner_text()}")
            return meter
        finally:
            page.close()

    def boto3_upload(self, path: Path) -> Meter:
        """Upload with boto3's upload_file from its own process."""
        app = self.restart(path.stat().st_size)
        command = servers.boto3_command(path, self.s3)
        meter = Meter(self.s3, app)
        meter.start()
        subprocess.run(command, env=self.env, cwd=ROOT, check=True, capture_output=True)
        meter.stop()
        return meter

    def ceiling_upload(self, path: Path) -> Meter:
        """PUT the parts with bare fetch from a page of the app's origin."""
        from uploads import storage

        app = self.restart(path.stat().st_size)
        client = storage.get_client()
        key = f"ceiling/{path.name}"
        size = path.stat().st_size
        upload_id = client.create_multipart_upload(
            Bucket=servers.BUCKET, Key=key, ContentType="video/mp4"
        )["UploadId"]
        count = -(-size // PART)
        urls = [
            client.generate_presigned_url(
                "upload_part",
                Params={
                    "Bucket": servers.BUCKET,
                    "Key": key,
                    "UploadId": upload_id,
                    "PartNumber": number,
                    "ContentLength": min(PART, size - (number - 1) * PART),
                },
                ExpiresIn=3600,
            )
            for number in range(1, count + 1)
        ]
        complete = client.generate_presigned_url(
            "complete_multipart_upload",
            Params={"Bucket": servers.BUCKET, "Key": key, "UploadId": upload_id},
            ExpiresIn=3600,
        )
        # A page of the app's origin (which the bucket's CORS allows) without the app's script.
        context = self.browser.new_context(bypass_csp=True)
        page = context.new_page()
        sending = SendPhase(page)
        try:
            page.goto(f"{app.url}/accounts/login/")
            page.evaluate(
                """() => { const input = document.createElement("input");
                input.type = "file"; input.id = "bench-file"; document.body.append(input); }"""
            )
            page.set_input_files("#bench-file", str(path))
            arguments = {
                "urls": urls,
                "completeUrl": complete,
                "partSize": PART,
                "parallel": self.parallel,
            }
            meter = Meter(self.s3, app)
            meter.start()
            page.evaluate(CEILING_JS, arguments)
            meter.stop()
            meter.figures["send"] = sending.seconds
        finally:
            context.close()
        head = client.head_object(Bucket=servers.BUCKET, Key=key)
        assert head["ContentLength"] == size, head
        return meter

    def stop(self) -> None:
        """Stop the app (the store is stopped by the caller)."""
        if self.context is not None:
            self.context.close()
        if self.app is not None:
            self.app.stop()


# Leaves `window.benchSettled`: a promise of the first row's final status, resolved as the page
# sets it.
SETTLED_JS = """() => {
  window.benchSettled = new Promise((resolve) => {
    const settled = () => {
      const status = document.querySelector(".transfer")?.dataset.status;
      if (status !== "uploaded" && status !== "failed") return false;
      resolve(status);
      return true;
    };
    const watch = new MutationObserver(() => settled() && watch.disconnect());
    watch.observe(document.body, { subtree: true, childList: true, attributes: true });
  });
}"""


def main() -> None:
    """Upload each size each way, interleaved; print the table with ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes-mib", default="256,1024", help="file sizes, comma-separated")
    parser.add_argument(
        "--rounds", type=int, default=3, help="uploads of each kind, interleaved; best kept"
    )
    parser.add_argument(
        "--trace",
        type=Path,
        help="also save a Chromium performance trace of each page upload into this directory "
        "(open it in chrome://tracing or ui.perfetto.dev)",
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=PARALLEL,
        help="parts in flight at once: the page's UPLOAD_PARALLEL_PARTS and the ceiling's",
    )
    servers.add_s3_argument(parser)
    args = parser.parse_args()
    sizes = [int(text) * MiB for text in args.sizes_mib.split(",") if text.strip()]

    from playwright.sync_api import sync_playwright

    with (
        servers.workdir("bench-browser-") as workdir,
        servers.s3_server(args.s3, workdir, largest=max(sizes)) as s3,
    ):
        database = servers.Database.create(workdir)
        env = servers.bench_env(workdir, database, s3, UPLOAD_PARALLEL_PARTS=str(args.parallel))
        best: dict[tuple[str, int], dict[str, float]] = {}
        try:
            servers.setup_django(env)
            servers.make_user(USERNAME, PASSWORD)
            servers.collectstatic(env)
            files = {}
            for size in sizes:
                files[size] = workdir / f"clip-{size // MiB}.mp4"
                servers.write_media(files[size], size)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                bench = Bench(workdir, env, s3, browser, args.parallel, args.trace)
                try:
                    for _ in range(args.rounds):
                        for size in sizes:
                            for name, upload in (
                                ("page", bench.page_upload),
                                ("boto3", bench.boto3_upload),
                                ("ceiling", bench.ceiling_upload),
                            ):
                                figures = upload(files[size]).figures
                                kept = best.get((name, size))
                                if kept is None or figures["wall"] < kept["wall"]:
                                    best[(name, size)] = figures
                finally:
                    bench.stop()
                    browser.close()
        finally:
            s3.stop()
            from django.db import connections

            connections.close_all()
            database.drop()

    print_table(best, sizes, args.rounds, database.vendor, args.parallel, s3.name)


def print_table(
    best: dict[tuple[str, int], dict[str, float]],
    sizes: list[int],
    rounds: int,
    vendor: str,
    parallel: int,
    store: str,
) -> None:
    """Print MiB/s of each way with the ratios of the page to boto3 and to the ceiling, and the
    CPU seconds each process spent (the machine has few cores: they are shared)."""
    print(
        f"\nBrowser: headless Chromium (Debian), {store} and the app (gunicorn, {vendor}) on "
        f"127.0.0.1, emptied and restarted before each large upload; 16 MiB parts, {parallel} "
        f"at a time "
        f"(boto3: 8 MiB, 10); "
        f"best of {rounds} "
        f"({time.strftime('%Y-%m-%d')})\n"
    )
    print(
        f"{'way':<36} {'MiB':>5} {'wall s':>7} {'MiB/s':>6} {'page / it':>9} {'parts s':>7} "
        f"{'parts: page / it':>16}   CPU s: "
        f"{'S3':>5} {'browser':>7} {'app':>5} {'boto3':>5} {'machine':>7} {'busy':>5}"
    )
    labels = {
        "page": "page /upload/ (create...complete)",
        "boto3": "boto3 upload_file, no checksums",
        "ceiling": "ceiling: bare fetch PUTs + complete",
    }
    for size in sizes:
        page = best[("page", size)]
        for name in ("page", "boto3", "ceiling"):
            cpu = best[(name, size)]
            seconds = cpu["wall"]
            versus = "" if name == "page" else ratio(seconds, page["wall"])
            # The parts alone, from the first PUT's start to the last one's end (browser only).
            send = f"{cpu['send']:.1f}" if cpu.get("send") else "-"
            # (a file under the multipart threshold goes up as one POST: no parts to compare)
            both = name == "ceiling" and cpu.get("send") and page.get("send")
            send_ratio = ratio(cpu["send"], page["send"]) if both else ""
            print(
                f"{labels[name]:<36} {size // MiB:>5} {seconds:>7.1f} "
                f"{show(per(size / MiB, seconds), '.0f'):>6} "
                f"{versus:>9} {send:>7} {send_ratio:>16}          {cpu['s3']:>5.1f} "
                f"{cpu['browser']:>7.1f} "
                f"{cpu['app']:>5.1f} "
                f"{cpu['boto3']:>5.1f} {cpu['busy']:>7.1f} "
                f"{show(per(cpu['busy'], cpu['total']), '.0%'):>5}"
            )
    print(
        "\n(targets: page >= 0.90x boto3 and >= 0.90x the ceiling; 'parts s': the parts alone, "
        "without the create before them and S3's assembly and the checks after)"
    )


if __name__ == "__main__":
    main()
