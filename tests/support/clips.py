"""Real, playable test media from Debian's ffmpeg: a video with a duration, a sound, a picture."""

import shutil
import subprocess
from pathlib import Path

FFMPEG = "ffmpeg"


def missing() -> bool:
    """Tell whether ffmpeg is not installed (the tests that need it then skip, or fail under CI)."""
    return shutil.which(FFMPEG) is None


def _ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly, overwriting its output."""
    subprocess.run([FFMPEG, "-v", "error", "-y", *args], check=True, timeout=60)


def video(path: Path, *, seconds: int = 2, size: str = "320x240") -> Path:
    """Write a WebM (VP8) test pattern of `seconds` with its duration in the header."""
    source = f"testsrc=duration={seconds}:size={size}:rate=25"
    _ffmpeg("-f", "lavfi", "-i", source, "-c:v", "libvpx", "-b:v", "300k", str(path))
    return path


def audio(path: Path, *, seconds: int = 3) -> Path:
    """Write a WAV of a `seconds`-long 440 Hz tone."""
    _ffmpeg("-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", str(path))
    return path


def image(path: Path, *, size: str = "64x48") -> Path:
    """Write one frame of the test pattern as a PNG."""
    _ffmpeg("-f", "lavfi", "-i", f"testsrc=size={size}", "-frames:v", "1", str(path))
    return path
