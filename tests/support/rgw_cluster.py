"""Throwaway single-node Ceph cluster (1 mon, 1 memstore OSD, radosgw) on loopback for S3 tests.

Ceph RGW is used because, unlike moto, it really enforces presigned POST policies and
signatures, so tests can prove that forged or out-of-policy uploads are refused.
Everything lives under one work directory; /etc/ceph and /var/lib/ceph are never touched.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REGION = "us-east-1"  # RGW's zonegroup is "default", but it accepts SigV4 scoped to any region.

# The executables the cluster needs (Debian packages ceph-mon, ceph-osd, radosgw).
REQUIRED_BINARIES = (
    "ceph-mon",
    "ceph-osd",
    "radosgw",
    "ceph",
    "ceph-authtool",
    "monmaptool",
    "radosgw-admin",
)

# Bounded waits: a healthy start takes ~3 s, so anything far beyond that is a failed start.
MON_TIMEOUT = 15.0
OSD_UP_TIMEOUT = 30.0
RGW_TIMEOUT = 60.0
COMMAND_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
POLL_INTERVAL = 0.2

# Created in the work directory so that a retry may wipe it, and never a directory we did not make.
MARKER = ".rgw-cluster-workdir"

# A ceph client (the `ceph` CLI included) first builds its monmap from bare mon addresses, with a
# zero fsid, until the mon's own map arrives. With auth none, a mon command sent in that window
# is refused with this error before anything is done, so the command can simply run again.
WRONG_FSID = ("wrong fsid", "problem getting command descriptions")
WRONG_FSID_TRIES = 3


@dataclass(frozen=True)
class RgwUser:
    """S3 credentials of one RGW user."""

    access_key: str
    secret_key: str


# Fixed, obviously fake keys (20-character access key, 40-character secret, as on AWS).
ADMIN_UID = "test"
OTHER_UID = "other"
ADMIN_USER = RgwUser("TESTADMINACCESSKEY00", "testadminsecretkey0000000000000000000000")
OTHER_USER = RgwUser("TESTOTHERACCESSKEY00", "testothersecretkey0000000000000000000000")


class _StartFailed(Exception):
    """One start attempt failed in a way that a clean retry may fix."""


class RgwCluster:
    """A running throwaway cluster; call stop() when done (an atexit hook does it as a fallback)."""

    endpoint: str
    region: str
    admin: RgwUser
    other: RgwUser
    workdir: Path

    def __init__(
        self,
        workdir: Path,
        mon_port: int,
        rgw_port: int,
        memstore_bytes: int = 8 * 1024**3,
        extra_conf: str = "",
    ) -> None:
        """Record where the cluster lives; start_rgw_cluster() starts the daemons."""
        self.workdir = workdir
        self.memstore_bytes = memstore_bytes
        self.extra_conf = extra_conf
        self.mon_port = mon_port
        self.rgw_port = rgw_port
        self.endpoint = f"http://127.0.0.1:{rgw_port}"
        self.region = REGION
        self.admin = ADMIN_USER
        self.other = OTHER_USER
        self.conf = workdir / "ceph.conf"
        # Insertion order is start order (mon, osd, rgw); stop() walks it backwards.
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        # A session that dies without running its fixture teardown still stops the daemons.
        atexit.register(self.stop)

    @property
    def pids(self) -> dict[str, int]:
        """PIDs of the daemons this cluster started, by daemon name."""
        return {name: proc.pid for name, proc in self._procs.items()}

    def stop(self) -> None:
        """SIGTERM the daemons (rgw, osd, mon), SIGKILL any that linger; safe to call again."""
        # rgw first so it does not wait on a vanished OSD; the mon last, as everything talks to it.
        for proc in reversed(self._procs.values()):
            if proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                # Only a process stuck in the kernel survives SIGKILL; stop() must not raise.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=STOP_TIMEOUT)
        atexit.unregister(self.stop)

    def collect_garbage(self) -> None:
        """Free now what deleted objects held: RGW leaves their data to a garbage collector that
        waits hours by default, and a memstore OSD would fill up meanwhile."""
        try:
            self._run(["radosgw-admin", "gc", "process", "--include-all"], timeout=120)
        except _StartFailed as error:
            raise RuntimeError(str(error)) from error

    def _env(self) -> dict[str, str]:
        """Environment for every ceph process: our ceph.conf, no inherited CEPH_ARGS and such."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CEPH_")}
        env["CEPH_CONF"] = str(self.conf)
        return env

    def _spawn(self, name: str, args: Sequence[str]) -> None:
        """Start a daemon in its own session (Ctrl-C must not reach it), output to a log file."""
        with open(self.workdir / "log" / f"{name}.stdout", "wb") as out:
            self._procs[name] = subprocess.Popen(
                list(args),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self._env(),
                cwd=self.workdir,
                start_new_session=True,
            )

    def _run(self, args: Sequence[str], timeout: float = COMMAND_TIMEOUT) -> str:
        """Run a short ceph command with a timeout; return its stdout or raise _StartFailed."""
        command = " ".join(args)
        for _ in range(WRONG_FSID_TRIES):
            try:
                done = subprocess.run(
                    list(args),
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    env=self._env(),
                    cwd=self.workdir,
                    timeout=timeout,
                    start_new_session=True,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise _StartFailed(f"`{command}` timed out after {timeout:.0f} s") from exc
            if done.returncode == 0:
                return done.stdout
            output = done.stdout + done.stderr
            if not any(marker in output for marker in WRONG_FSID):
                break
        raise _StartFailed(f"`{command}` exited {done.returncode}:\n{_last_lines(output)}")

    def _wait_for(self, ready: Callable[[], bool], timeout: float, what: str, daemon: str) -> None:
        """Poll ready() until it holds; fail at once if the daemon exits, or at the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive(daemon)
            if ready():
                return
            if time.monotonic() > deadline:
                raise _StartFailed(
                    f"timed out after {timeout:.0f} s waiting for {what}\n{self._log_tail(daemon)}"
                )
            time.sleep(POLL_INTERVAL)

    def _check_alive(self, daemon: str) -> None:
        """Raise _StartFailed, with the end of its log, if the daemon has exited."""
        code = self._procs[daemon].poll()
        if code is not None:
            raise _StartFailed(f"{daemon} exited with status {code}\n{self._log_tail(daemon)}")

    def _log_tail(self, daemon: str) -> str:
        """The end of a daemon's log file and of its captured output, for error messages."""
        parts = []
        # The captured output first: with -f a daemon prints its errors there, concisely.
        for name in (f"{daemon}.stdout", _LOG_NAMES[daemon]):
            path = self.workdir / "log" / name
            if path.exists():
                parts.append(f"--- end of {path}:\n{_last_lines(path.read_text(errors='replace'))}")
        return "\n".join(parts)

    def _start(self) -> str:
        """Bring up mon, OSD and rgw in turn, then add the users; return a timing summary."""
        wd = self.workdir
        fsid = str(uuid.uuid4())
        self.conf.write_text(
            _ceph_conf(wd, fsid, self.mon_port, self.rgw_port, self.memstore_bytes, self.extra_conf)
        )
        t0 = time.monotonic()

        # Monitor. Auth is off between daemons, but mkfs still wants a keyring with a mon. key.
        keyring, monmap = str(wd / "keyring"), str(wd / "monmap")
        mon_key = ["--gen-key", "-n", "mon.", "--cap", "mon", "allow *"]
        self._run(["ceph-authtool", "--create-keyring", keyring, *mon_key])
        mon_addr = f"v1:127.0.0.1:{self.mon_port}"
        self._run(["monmaptool", "--create", "--add", "a", mon_addr, "--fsid", fsid, monmap])
        self._run(["ceph-mon", "--mkfs", "-i", "a", "--monmap", monmap, "--keyring", keyring])
        self._spawn("mon", ["ceph-mon", "-i", "a", "-f"])
        self._wait_for(lambda: self._listens("mon", self.mon_port), MON_TIMEOUT, "the mon", "mon")
        t_mon = time.monotonic()

        # OSD. We register it and place it in the CRUSH map ourselves: the OSD's own boot-time
        # mon commands for that hit the zero-fsid window (see WRONG_FSID), and the OSD then exits.
        osd_id = self._run(_ceph("osd", "create")).strip()
        if osd_id != "0":
            raise _StartFailed(f"expected OSD id 0 in a new cluster, got {osd_id!r}")
        self._run(_ceph("osd", "crush", "add", "osd.0", "1.0", "root=default", "host=localhost"))
        self._run(["ceph-osd", "-i", "0", "--mkfs"])
        self._spawn("osd", ["ceph-osd", "-i", "0", "-f"])
        self._wait_for(self._osd_up, OSD_UP_TIMEOUT, "the OSD to be up", "osd")
        t_osd = time.monotonic()

        # radosgw creates its pools on first start and only then opens its HTTP port.
        self._spawn("rgw", ["radosgw", "-n", "client.rgw.a", "-f"])
        self._wait_for(self._rgw_answers, RGW_TIMEOUT, "radosgw to answer", "rgw")
        t_rgw = time.monotonic()

        for uid, user in ((ADMIN_UID, self.admin), (OTHER_UID, self.other)):
            self._run(
                [
                    "radosgw-admin",
                    "user",
                    "create",
                    f"--uid={uid}",
                    f"--display-name={uid}",
                    f"--access-key={user.access_key}",
                    f"--secret-key={user.secret_key}",
                ],
                timeout=60,
            )
        for daemon in self._procs:
            self._check_alive(daemon)
        t_users = time.monotonic()
        return (
            f"mon {t_mon - t0:.1f} s, osd {t_osd - t_mon:.1f} s, rgw {t_rgw - t_osd:.1f} s,"
            f" users {t_users - t_rgw:.1f} s"
        )

    def _listens(self, daemon: str, port: int) -> bool:
        """True once the daemon itself listens on 127.0.0.1:port (not some other process)."""
        # Linux only, like the Ceph packages: find the listening socket's inode in
        # /proc/net/tcp, then look for that socket among the daemon's open files.
        address = f"0100007F:{port:04X}"  # 127.0.0.1 in the kernel's byte order
        with open("/proc/net/tcp") as table:
            rows = [line.split() for line in table.readlines()[1:]]
        sockets = {f"socket:[{row[9]}]" for row in rows if row[1] == address and row[3] == "0A"}
        fd_dir = Path(f"/proc/{self._procs[daemon].pid}/fd")
        with contextlib.suppress(OSError):  # the daemon may exit or close files meanwhile
            return any(os.readlink(fd) in sockets for fd in fd_dir.iterdir())
        return False

    def _osd_up(self) -> bool:
        """True once the mon reports the OSD up."""
        try:
            out = self._run([*_ceph("osd", "stat"), "--format", "json"], timeout=15)
            return int(json.loads(out).get("num_up_osds", 0)) >= 1
        except (_StartFailed, ValueError):  # mon busy or odd output: ask again
            return False

    def _rgw_answers(self) -> bool:
        """True once radosgw listens on its port and answers an anonymous ListBuckets."""
        if not self._listens("rgw", self.rgw_port):
            return False
        # No proxy: an http_proxy in the environment must not intercept a loopback request.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(self.endpoint + "/", timeout=2) as response:
                return b"ListAllMyBucketsResult" in response.read()
        except urllib.error.HTTPError as error:
            return b"<Error>" in error.read()
        except OSError:  # refused, reset or timed out: not listening yet
            return False


# Each daemon's Ceph log file under workdir/log ("log file = .../$name.log").
_LOG_NAMES = {"mon": "mon.a.log", "osd": "osd.0.log", "rgw": "client.rgw.a.log"}


def missing_binaries() -> list[str]:
    """Names of the needed ceph executables that are not on PATH."""
    return [name for name in REQUIRED_BINARIES if shutil.which(name) is None]


def start_rgw_cluster(
    workdir: Path,
    *,
    attempts: int = 3,
    log: Callable[[str], object] = print,
    memstore_bytes: int = 8 * 1024**3,
    extra_conf: str = "",
) -> RgwCluster:
    """Start mon, OSD and radosgw under workdir with users "test" and "other"; retry failures.

    `memstore_bytes` caps the OSD's in-memory store (it takes memory only for what is stored);
    `extra_conf` lines go into the [global] section (the benches' index sharding, say)."""
    missing = missing_binaries()
    if missing:
        raise RuntimeError(f"Ceph executables not on PATH: {', '.join(missing)}")
    workdir = Path(workdir).resolve()
    last_error = ""
    for attempt in range(1, attempts + 1):
        _reset_workdir(workdir)
        mon_port, rgw_port = _free_ports(2)
        cluster = RgwCluster(workdir, mon_port, rgw_port, memstore_bytes, extra_conf)
        started = time.monotonic()
        try:
            timings = cluster._start()
        except _StartFailed as exc:
            cluster.stop()
            last_error = str(exc)
            log(f"rgw cluster: attempt {attempt}/{attempts} failed: {last_error}")
            continue
        except BaseException:
            cluster.stop()  # KeyboardInterrupt included: never leave daemons behind
            raise
        log(
            f"rgw cluster: ready at {cluster.endpoint} in {time.monotonic() - started:.1f} s,"
            f" attempt {attempt} ({timings})"
        )
        return cluster
    raise RuntimeError(
        f"could not start the Ceph RGW test cluster in {attempts} attempts"
        f" (logs: {workdir / 'log'}); last error:\n{last_error}"
    )


def _ceph(*args: str) -> list[str]:
    """A `ceph` CLI command that gives up, rather than hanging, when the mon is unreachable."""
    return ["ceph", "--connect-timeout", "10", *args]


def _free_ports(count: int) -> list[int]:
    """Distinct free loopback ports, chosen by the kernel (bind port 0, read it back)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            sock.bind(("127.0.0.1", 0))  # all stay bound until every port is read: no duplicates
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _reset_workdir(workdir: Path) -> None:
    """Give an attempt an empty workdir, refusing to wipe a directory that is not ours."""
    if workdir.exists() and any(workdir.iterdir()) and not (workdir / MARKER).exists():
        raise RuntimeError(f"{workdir} is not empty and not an rgw cluster workdir; not wiping it")
    shutil.rmtree(workdir, ignore_errors=True)
    for sub in ("run", "log", "crash", "mon.a", "osd.0", "rgw"):
        (workdir / sub).mkdir(parents=True)
    (workdir / MARKER).touch()


def _last_lines(text: str, count: int = 30) -> str:
    """The last lines of some output, for error messages."""
    return "\n".join(text.rstrip().splitlines()[-count:])


def _ceph_conf(
    wd: Path, fsid: str, mon_port: int, rgw_port: int, memstore_bytes: int, extra_conf: str
) -> str:
    """ceph.conf for a one-OSD test cluster that keeps every path under wd."""
    return f"""\
[global]
fsid = {fsid}
mon host = v1:127.0.0.1:{mon_port}
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
# msgr v1 only: one address per daemon and no v2 negotiation to go wrong.
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none

# Every path under the work dir: the defaults point into /var/run, /var/log and /var/lib.
run dir = {wd}/run
crash dir = {wd}/crash
keyring = {wd}/keyring
log file = {wd}/log/$name.log
mon cluster log file = {wd}/log/cluster.log
mon cluster log file level = info
log to syslog = false
err to syslog = false
clog to syslog = false
mon cluster log to syslog = false

# Quiet logs (defaults are mostly 1/5); rgw keeps level 1 for one access line per request.
debug ms = 0/0
debug mon = 0/5
debug paxos = 0/5
debug monc = 0/5
debug rocksdb = 0/5
debug auth = 0/5
debug osd = 0/5
debug memstore = 0/5
debug objclass = 0/5
debug rgw = 1/5

# One OSD: single replicas, few PGs, and none of the production safety refusals.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon max pg per osd = 1000
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
# The mon would shut itself down on a nearly full disk; the test data lives in RAM anyway.
mon data avail crit = 0
# Commit map changes after 0.1 s instead of 1 s: rgw's first start makes about ten of them,
# and every new pool (the first bucket creates two) waits for one. 13 s -> 3 s start.
paxos propose interval = 0.1

# The OSD must not place itself in the CRUSH map at boot (see RgwCluster._start).
osd crush update on start = false
osd class update on start = false
osd objectstore = memstore
# The tests need room for the 5 GiB + 1 attach test (memstore takes memory only for what is
# stored).
memstore device bytes = {memstore_bytes}
{extra_conf}

[mon.a]
mon data = {wd}/mon.a
pid file = {wd}/run/$name.pid

[osd.0]
osd data = {wd}/osd.0
pid file = {wd}/run/$name.pid

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:{rgw_port} tcp_nodelay=1
rgw data = {wd}/rgw
rgw dns name = localhost
pid file = {wd}/run/$name.pid
"""
