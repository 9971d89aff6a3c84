"""Real, playable test media from Debian's ffmpeg: a video with a duration, a sound, a picture."""

import shutil
import struct
import subprocess
import zlib
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


def mp4(
    path: Path,
    *,
    seconds: float = 10,
    size: str = "640x360",
    black_seconds: float = 1,
    faststart: bool = False,
    rotate: int = 0,
) -> Path:
    """Write an H.264 + AAC MP4: `black_seconds` of black, then a test pattern; the moov atom at
    the end as ffmpeg writes it unless `faststart`; a display rotation when asked."""
    pattern = f"testsrc2=duration={seconds}:size={size}:rate=25"
    # Black until black_seconds, then the pattern: a poster must skip the dark opening.
    darkened = f"[0:v]drawbox=c=black:t=fill:enable='lt(t,{black_seconds})'[v]"
    args = ["-f", "lavfi", "-i", pattern, "-f", "lavfi", "-i", f"sine=duration={seconds}"]
    args += ["-filter_complex", darkened, "-map", "[v]", "-map", "1:a"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"]
    if rotate:
        args += ["-metadata:s:v:0", f"rotate={rotate}"]
    if faststart:
        args += ["-movflags", "+faststart"]
    _ffmpeg(*args, str(path))
    return path


def webm_without_duration(path: Path, *, seconds: float = 4, size: str = "320x240") -> Path:
    """Write a WebM as a MediaRecorder does: streamed, so no duration in its header and no Cues."""
    source = f"testsrc=duration={seconds}:size={size}:rate=25"
    command = [FFMPEG, "-v", "error", "-f", "lavfi", "-i", source]
    command += ["-f", "lavfi", "-i", f"sine=duration={seconds}"]
    command += ["-c:v", "libvpx", "-b:v", "300k", "-c:a", "libopus", "-f", "webm", "pipe:1"]
    with path.open("wb") as out:  # a pipe cannot seek back to write a duration
        subprocess.run(command, check=True, timeout=60, stdout=out)
    return path


def mp3(path: Path, *, seconds: float = 3) -> Path:
    """Write an MP3 of a tone."""
    source = f"sine=frequency=440:duration={seconds}"
    _ffmpeg("-f", "lavfi", "-i", source, "-c:a", "libmp3lame", "-b:a", "128k", str(path))
    return path


def png_bomb(side: int = 20000) -> bytes:
    """Return a valid 1-bit PNG of side x side blank pixels, a few tens of KB once compressed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = bytes(1 + side // 8)  # Filter byte 0, then 8 pixels a byte.
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
