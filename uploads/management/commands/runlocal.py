"""`manage.py runlocal`: the whole app on one machine, with a local S3 if the endpoint is local,
the sweeps cron would run, and a task worker for media analysis."""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.urls import NoReverseMatch, reverse
from django.utils import autoreload

from uploads import conf, extras, storage, sweeps, tasks
from uploads.storage import local_s3

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# The local S3 pushes no events we can verify, so lost callbacks are settled by sweeping this often.
SWEEP_SECONDS = 60


class Command(BaseCommand):
    """Start a local S3 (for a loopback S3 endpoint), prepare the bucket, serve the app."""

    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        """Take the address to serve on, the data directory and whether to make the demo user."""
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=Path("var", "mediaupload"),
            help="where the local S3's log goes (default: ./var/mediaupload)",
        )
        parser.add_argument(
            "--seed",
            metavar="COMMAND",
            help="a management command to run once the bucket is ready (the project's seed data)",
        )
        parser.add_argument(
            "--demo",
            action="store_true",
            help=f"create a {DEMO_USERNAME}/{DEMO_PASSWORD} superuser if there is none (never in "
            "a database you care about)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Migrate, start S3, prepare the bucket (and demo user) once, then serve until Ctrl-C."""
        if not settings.DEBUG:
            raise CommandError("runlocal is for local development: set DEBUG=true.")
        addrport: str = options["addrport"]
        data_dir: Path = options["data_dir"].resolve()
        # Django's autoreloader re-runs this command in a child process; only the parent prepares.
        if os.environ.get(autoreload.DJANGO_AUTORELOAD_ENV) == "true":
            call_command("runserver", addrport)
            return

        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        call_command("migrate", interactive=False, verbosity=0)
        s3_process = self._start_local_s3(data_dir)
        stop_sweeping = threading.Event()
        worker: subprocess.Popen[bytes] | None = None
        try:
            host, _, port = addrport.rpartition(":")
            origins = [f"http://{name}:{port}" for name in {host or "127.0.0.1", "localhost"}]
            call_command("configure_bucket", *[f"--origin={origin}" for origin in origins])
            if options["demo"]:
                self._ensure_demo_user()
            if options["seed"]:
                call_command(options["seed"])
            stop_sweeping = self._start_sweeping()
            worker = self._start_worker(data_dir)
            self.stdout.write(self.style.SUCCESS(self._banner(host or "127.0.0.1", port, options)))
            call_command("runserver", addrport)
        finally:
            stop_sweeping.set()
            if worker is not None:
                self.stdout.write("Stopping the task worker…")
                local_s3.stop_process(worker)
            if s3_process is not None:
                self.stdout.write("Stopping the local S3 server…")
                local_s3.stop_process(s3_process)

    def _banner(self, host: str, port: str, options: dict[str, Any]) -> str:
        """Say where the app's page is, how to sign in, and where the local files go."""
        try:
            page = reverse("uploads:uploader")
        except NoReverseMatch:
            page = "/"  # the project routes the API only
        lines = [f"Open http://{host}:{port}{page}"]
        if options["demo"]:
            lines.append(
                f"Sign in as {DEMO_USERNAME} / {DEMO_PASSWORD} (a superuser: the admin too)."
            )
        else:
            lines.append("Sign in with a user of this database (`manage.py createsuperuser`).")
        lines.append(f"Local files: {options['data_dir'].resolve()}")
        return "\n" + "\n".join(lines) + "\n"

    def _start_local_s3(self, data_dir: Path) -> subprocess.Popen[bytes] | None:
        """Start moto on the configured loopback endpoint, unless something already serves it."""
        endpoint = urlsplit(conf.s3_connection().endpoint_url)
        if endpoint.hostname not in LOOPBACK_HOSTS or endpoint.port is None:
            self.stdout.write(f"Using the S3 at {endpoint.geturl() or 'AWS'}.")
            return None
        if local_s3.is_listening(endpoint.hostname, endpoint.port):
            self.stdout.write(f"An S3 server already answers on {endpoint.netloc}; using it.")
            return None
        try:
            extras.require("moto", "flask", extra="local", feature="The local S3 of runlocal")
        except extras.MissingExtra as missing:
            raise CommandError(str(missing)) from None
        log_path = data_dir / "local-s3.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        process = local_s3.start_moto_server(endpoint.hostname, endpoint.port, log_path=log_path)
        self.stdout.write(
            f"Local S3 (moto, objects kept in memory) on {endpoint.netloc}, pid {process.pid}."
        )
        return process

    def _start_sweeping(self) -> threading.Event:
        """Reconcile and expire uploads every minute in the background, as cron would."""
        stop = threading.Event()

        def sweep_until_stopped() -> None:
            while not stop.wait(SWEEP_SECONDS):
                try:
                    for tally in (sweeps.reconcile(), sweeps.expire()):
                        if tally.counts:
                            self.stdout.write(f"Sweep: {tally.summary()}")
                except storage.StorageError as error:
                    self.stderr.write(f"Sweep skipped: {error}")
                finally:
                    connections.close_all()

        threading.Thread(target=sweep_until_stopped, name="sweeps", daemon=True).start()
        self.stdout.write(f"Reconciling and expiring uploads every {SWEEP_SECONDS} s.")
        return stop

    def _start_worker(self, data_dir: Path) -> subprocess.Popen[bytes] | None:
        """Start one `db_worker` for the database tasks backend (media analysis); other backends
        have workers of their own to run."""
        backend = tasks.worker_backend()
        if backend is None:
            self.stdout.write("No task worker backend: uploaded files wait for analysis.")
            return None
        if not type(backend).__module__.startswith("django_tasks_db"):
            self.stdout.write(f"Tasks go to {type(backend).__name__}: start its workers yourself.")
            return None
        log_path = data_dir / "worker.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "django", "db_worker", "--no-reload"]
        command += ["--backend", conf.tasks_backend(), "--settings", settings.SETTINGS_MODULE]
        with log_path.open("ab") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self.stdout.write(f"Task worker (media analysis), pid {process.pid}, log {log_path}.")
        return process

    def _ensure_demo_user(self) -> None:
        """Create the demo account (a superuser, for the admin) if it does not exist."""
        user_model = get_user_model()
        if user_model.objects.filter(username=DEMO_USERNAME).exists():
            return
        user_model.objects.create_superuser(
            username=DEMO_USERNAME, email="demo@example.com", password=DEMO_PASSWORD
        )


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into a normal exit so `finally` stops the local S3 server."""
    raise SystemExit(128 + signum)
