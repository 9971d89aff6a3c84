"""A local S3 (moto in server mode) for development and tests: started as a child process we own."""

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on `host` that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def is_listening(host: str, port: int) -> bool:
    """Tell whether something accepts connections on host:port."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def start_moto_server(
    host: str, port: int, *, log_path: Path | None = None, timeout: float = 20.0
) -> subprocess.Popen[bytes]:
    """Start moto's S3 server on host:port and return once it answers HTTP."""
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 (child owns it)
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        # Its own session: Ctrl-C in a terminal reaches us, and we stop it by PID, in order.
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with code {process.returncode}")
        try:
            urllib.request.urlopen(f"http://{host}:{port}/moto-api/", timeout=1).close()
            return process
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    stop_process(process)
    raise RuntimeError(f"moto server did not answer on {host}:{port} within {timeout:.0f} s")


def stop_process(process: subprocess.Popen[bytes], *, grace: float = 5.0) -> None:
    """Terminate a child we started, and kill it if it does not leave in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
