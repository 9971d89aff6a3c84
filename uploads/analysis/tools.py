"""How ffprobe and ffmpeg run: each opens the file with the one demuxer its content type allows
(`-f` and `-format_whitelist`), over http and tcp alone (`-protocol_whitelist`; the pipe alone for
stdin), as a child process with a wall-clock timeout and an address-space limit, without the
worker's environment. Whatever the bytes say, nothing is read as a playlist, a concat list, an
image sequence or a local file; failures become `AnalysisFailed` reason codes, never the tools'
own words (which can quote the signed URL).
"""

import functools
import os
import resource
import signal
import subprocess
from dataclasses import dataclass

from uploads.analysis.reasons import AnalysisFailed
from uploads.media_types import MEDIA_TYPES

FFPROBE = "ffprobe"
FFMPEG = "ffmpeg"

# Each demuxer's full name, which -format_whitelist is matched against.
DEMUXER_NAMES = {
    "mov": "mov,mp4,m4a,3gp,3g2,mj2",
    "matroska": "matroska,webm",
    "mpegts": "mpegts",
    "mpeg": "mpeg",
    "ogg": "ogg",
    "avi": "avi",
    "mp3": "mp3",
    "aac": "aac",
    "wav": "wav",
    "flac": "flac",
}
# A demuxer's own options that could open another file: a QuickTime reference (dref) can name
# any path or URL. Both are off by default; saying so keeps a changed default from reaching us.
DEMUXER_OPTIONS = {"mov": ("-enable_drefs", "0", "-use_absolute_path", "0")}

# The tools' TCP receive buffer: unbounded it grows to megabytes, read for nothing on a seek.
RECEIVE_BUFFER_BYTES = 256 * 1024

# What the tools print when they fail, lower-cased, by the reason it means (the first that
# matches counts). Allocation failures under the address-space limit show as ENOMEM, as a library
# that cannot be mapped at start, or as a thread that cannot be made (EAGAIN).
_FAILURE_SIGNS = (
    (
        "memory",
        (
            "cannot allocate memory",
            "out of memory",
            "failed to map segment",
            "resource temporarily unavailable",
            "bad_alloc",
        ),
    ),
    ("unsupported_format", ("not on whitelist",)),
    ("no_stream", ("matches no streams", "does not contain any stream")),
    (
        "storage",
        (
            "server returned",
            "http error",
            "connection refused",
            "connection reset",
            "connection timed out",
            "i/o error",
        ),
    ),
)


@dataclass(frozen=True)
class Limits:
    """What one tool run may take: wall-clock seconds and bytes of address space."""

    timeout: float
    memory_bytes: int


def demuxer(content_type: str) -> str:
    """Return the one demuxer a content type may be read with."""
    media_type = MEDIA_TYPES.get(content_type)
    if media_type is None or media_type.demuxer not in DEMUXER_NAMES:
        raise AnalysisFailed("unsupported_format")
    return media_type.demuxer


def input_args(url: str | None, demuxer: str) -> list[str]:
    """Return the options that open `url` (None: bytes on stdin) with `demuxer` alone, over http
    and tcp alone (the pipe alone)."""
    source = ["-protocol_whitelist", "pipe", "-i", "pipe:0"]
    if url is not None:
        buffer = ["-recv_buffer_size", str(RECEIVE_BUFFER_BYTES)]
        source = ["-protocol_whitelist", "http,tcp", *buffer, "-i", url]
    return [
        "-format_whitelist",
        DEMUXER_NAMES[demuxer],
        "-f",
        demuxer,
        *DEMUXER_OPTIONS.get(demuxer, ()),
        *source,
    ]


def run(command: list[str], limits: Limits, stdin: bytes | None = None) -> bytes:
    """Run a tool within the limits (`stdin` its input, else none); return its output, or raise
    AnalysisFailed."""
    try:
        result = subprocess.run(
            command,
            input=stdin,
            stdin=subprocess.DEVNULL if stdin is None else None,
            capture_output=True,
            timeout=limits.timeout,
            # Only PATH: no http_proxy (ffmpeg would send loopback requests through it), and no
            # credentials of the worker's.
            env={"PATH": os.environ.get("PATH", os.defpath)},
            preexec_fn=functools.partial(_limit_memory, limits.memory_bytes),
        )
    except FileNotFoundError:
        raise AnalysisFailed("tool_missing") from None
    except subprocess.TimeoutExpired:
        # run() killed the tool; the error's text holds the command line, and so the URL.
        raise AnalysisFailed("timeout") from None
    if result.returncode != 0:
        raise _failure(result.returncode, result.stderr)
    return result.stdout


def _limit_memory(memory_bytes: int) -> None:
    """Cap the child's address space (runs in the child, between fork and exec)."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _failure(returncode: int, stderr: bytes) -> AnalysisFailed:
    """Tell why a tool failed, from how it ended and what it printed."""
    if returncode == -signal.SIGKILL:
        # Only the kernel's out-of-memory killer sends SIGKILL to a tool we have not timed out.
        return AnalysisFailed("memory")
    text = stderr.decode("utf-8", "replace").lower()
    for reason, signs in _FAILURE_SIGNS:
        if any(sign in text for sign in signs):
            return AnalysisFailed(reason)
    # "Invalid data found when processing input", "moov atom not found", a crash on bad bytes.
    return AnalysisFailed("unreadable")
