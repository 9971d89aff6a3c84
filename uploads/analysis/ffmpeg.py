"""Probe video and audio and draw a video's poster, with ffprobe and ffmpeg run hardened.

Both tools read only an http URL (the range proxy's), or bytes read through it and handed over on
stdin. Each runs as a child process with a wall-clock timeout and an address-space limit, without
the worker's environment, and opens the file with the one demuxer its content type allows (`-f`
and `-format_whitelist`), over http and tcp alone (`-protocol_whitelist`; the pipe alone for
stdin). Whatever the bytes say, nothing is read as a playlist, a concat list, an image sequence or
a local file. Neither a URL nor the tools' own words reach an exception or a log: failures are
`AnalysisFailed` reason codes.

`probe` returns, for a video type:

    {
        "kind": "video",
        "container": "mov",             # the demuxer that read it (MEDIA_TYPES[type].demuxer)
        "width": 1080,                  # as displayed: swapped when rotation is 90 or 270
        "height": 1920,
        "rotation": 90,                 # degrees clockwise the picture turns for display, 0..359
        "display_aspect_ratio": "9:16", # as displayed ("W:H"), or None when the file has none
        "duration": 12.345,             # seconds, 3 places, or None when it cannot be known
        "duration_source": "header",    # "header", "tail", "full_read", or None with no duration
        "frame_rate": 29.97,            # average frames a second, 3 places, or None
        "video_codec": "h264",
        "audio_codec": "aac",           # the first audio stream's, or None
        "has_audio": True,
        "bit_rate": 8000000,            # bits a second over the whole file, or None
    }

and for an audio type:

    {
        "kind": "audio",
        "container": "mp3",
        "duration": 201.5,
        "duration_source": "header",
        "codec": "mp3",
        "sample_rate": 44100,
        "channels": 2,
        "bit_rate": 192000,
    }

A file whose container gives no duration (a browser's MediaRecorder WebM) is timed by its last
packet's end. For Matroska that is read from the tail ("tail": matroska.py joins the header and
the clusters that start in the last 4 MiB, handed to ffprobe on stdin as one file). Failing that,
a file of at most `full_read_max` bytes is read whole ("full_read"); a larger one gets no duration.
"""

import json
import math
from typing import Any

from uploads.analysis import matroska, tools
from uploads.analysis.reasons import AnalysisFailed
from uploads.analysis.tools import Limits

VIDEO_CODECS = frozenset(
    {
        "h264",
        "hevc",
        "vp8",
        "vp9",
        "av1",
        "mpeg4",
        "mpeg2video",
        "mpeg1video",
        "theora",
        # Cameras' AVI and QuickTime files.
        "mjpeg",
    }
)
AUDIO_CODECS = frozenset({"aac", "mp3", "mp2", "opus", "vorbis", "flac", "alac", "ac3", "eac3"})
# Uncompressed audio comes in one codec per sample format (pcm_s16le, pcm_f32be, pcm_mulaw…).
AUDIO_CODEC_PREFIXES = ("pcm_",)

# A poster comes from the first seconds: the first frame brighter than near-black (limited-range
# black is 16), else the first frame.
POSTER_SECONDS = 5
POSTER_MIN_LUMA = 32
# Decoder threads: each reserves address space (its stack, its frames), so the memory limit holds
# the same on a 4-core and a 64-core worker.
DECODER_THREADS = 2
IMAGE_ENCODERS = {
    "webp": ("-c:v", "libwebp", "-quality", "80"),
    "jpeg": ("-c:v", "mjpeg", "-q:v", "3"),
}


def probe(
    url: str, *, content_type: str, size: int, limits: Limits, full_read_max: int
) -> dict[str, Any]:
    """Return the file's metadata (see the module's docstring), or raise AnalysisFailed."""
    demuxer = tools.demuxer(content_type)
    info = _probe_json(url, demuxer, limits)
    streams = [stream for stream in info.get("streams", []) if _is_media(stream)]
    _check_codecs(streams)
    kind = content_type.partition("/")[0]
    video = _first(streams, "video")
    audio = _first(streams, "audio")
    main = video if kind == "video" else audio
    if main is None:
        raise AnalysisFailed("no_stream")
    file = info.get("format", {})
    duration, source = _duration(file, url, demuxer, size, limits, full_read_max)
    bit_rate = _int(file.get("bit_rate"))
    if bit_rate is None and duration:
        bit_rate = round(size * 8 / duration)
    common = {"container": demuxer, "duration": duration, "duration_source": source}
    if kind == "video":
        return _video_metadata(main, audio, common, bit_rate)
    return _audio_metadata(main, common, bit_rate)


def poster(
    url: str, *, content_type: str, limits: Limits, max_side: int, image_format: str
) -> bytes:
    """Return a still of the video's first bright frame (its first frame if none is), in
    `image_format` ("webp" or "jpeg"), its longer side at most `max_side`, turned for display."""
    demuxer = tools.demuxer(content_type)
    if image_format not in IMAGE_ENCODERS:
        raise ValueError(f"no poster format {image_format!r}")
    image = _draw(url, demuxer, limits, max_side, image_format, bright=True)
    if not image:
        # Every frame of the first seconds is dark (a fade-in, a night scene): take the first.
        image = _draw(url, demuxer, limits, max_side, image_format, bright=False)
    if not image:
        raise AnalysisFailed("unreadable")
    return image


# ---------------------------------------------------------------------------------- tool runs


def _probe_json(url: str, demuxer: str, limits: Limits) -> dict[str, Any]:
    """Return ffprobe's format and streams of the file."""
    output = tools.run(
        [
            tools.FFPROBE,
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            *tools.input_args(url, demuxer),
        ],
        limits,
    )
    try:
        info = json.loads(output)
    except ValueError:
        raise AnalysisFailed("unreadable") from None
    if not isinstance(info, dict):
        raise AnalysisFailed("unreadable")
    return info


def _draw(
    url: str, demuxer: str, limits: Limits, max_side: int, image_format: str, *, bright: bool
) -> bytes:
    """Encode one frame of the first seconds (the first bright one, or the first); b"" if none."""
    filters = ["format=yuv420p|yuvj420p"]
    if bright:
        filters += [
            "signalstats",
            f"metadata=select:key=lavfi.signalstats.YAVG:value={POSTER_MIN_LUMA}:function=greater",
        ]
    filters += [
        # Square pixels first, then the longer side down to max_side (never up).
        "scale=w='iw*sar':h=ih",
        "setsar=1",
        f"scale=w='min(iw,{max_side})':h='min(ih,{max_side})':force_original_aspect_ratio=decrease",
    ]
    return tools.run(
        [
            tools.FFMPEG,
            "-nostdin",
            "-hide_banner",
            "-v",
            "error",
            "-threads",
            str(DECODER_THREADS),
            # Read no further than the first seconds; ffmpeg turns frames for display itself.
            "-t",
            str(POSTER_SECONDS),
            *tools.input_args(url, demuxer),
            "-map",
            "0:V:0",
            "-vf",
            ",".join(filters),
            "-frames:v",
            "1",
            *IMAGE_ENCODERS[image_format],
            "-f",
            "image2pipe",
            "pipe:1",
        ],
        limits,
    )


# ---------------------------------------------------------------------------------- streams


def _is_media(stream: dict[str, Any]) -> bool:
    """Tell a video or audio stream (not cover art, subtitles, data or attachments)."""
    if stream.get("disposition", {}).get("attached_pic"):
        return False
    return stream.get("codec_type") in ("video", "audio")


def _check_codecs(streams: list[dict[str, Any]]) -> None:
    """Refuse a file with any video or audio stream outside the allowed codecs."""
    for stream in streams:
        codec = str(stream.get("codec_name", ""))
        if stream["codec_type"] == "video":
            allowed = codec in VIDEO_CODECS
        else:
            allowed = codec in AUDIO_CODECS or codec.startswith(AUDIO_CODEC_PREFIXES)
        if not allowed:
            raise AnalysisFailed("unsupported_format")


def _first(streams: list[dict[str, Any]], codec_type: str) -> dict[str, Any] | None:
    """Return the first stream of a type, or None."""
    return next((stream for stream in streams if stream["codec_type"] == codec_type), None)


def _video_metadata(
    video: dict[str, Any],
    audio: dict[str, Any] | None,
    common: dict[str, Any],
    bit_rate: int | None,
) -> dict[str, Any]:
    """Return a video's metadata, its dimensions and aspect as displayed."""
    rotation = _rotation(video)
    width, height = _int(video.get("width")), _int(video.get("height"))
    if not width or not height:
        raise AnalysisFailed("unreadable")  # A stream ffprobe could not decode a frame of.
    aspect = _aspect(video.get("display_aspect_ratio"))
    if rotation in (90, 270):
        width, height = height, width
        aspect = ":".join(reversed(aspect.split(":"))) if aspect else None
    return {
        "kind": "video",
        **common,
        "width": width,
        "height": height,
        "rotation": rotation,
        "display_aspect_ratio": aspect,
        "frame_rate": _rate(video.get("avg_frame_rate")),
        "video_codec": video["codec_name"],
        "audio_codec": audio["codec_name"] if audio else None,
        "has_audio": audio is not None,
        "bit_rate": bit_rate,
    }


def _audio_metadata(
    audio: dict[str, Any], common: dict[str, Any], bit_rate: int | None
) -> dict[str, Any]:
    """Return an audio file's metadata."""
    sample_rate, channels = _int(audio.get("sample_rate")), _int(audio.get("channels"))
    if not sample_rate or not channels:
        raise AnalysisFailed("unreadable")
    return {
        "kind": "audio",
        **common,
        "codec": audio["codec_name"],
        "sample_rate": sample_rate,
        "channels": channels,
        "bit_rate": bit_rate,
    }


def _rotation(stream: dict[str, Any]) -> int:
    """Return the clockwise degrees a stream's picture turns for display, 0..359."""
    for side_data in stream.get("side_data_list", []):
        counterclockwise = _float(side_data.get("rotation"))
        if counterclockwise is not None:
            # The display matrix's angle is counterclockwise.
            return round(-counterclockwise) % 360
    # Older ffprobe versions show an MP4's legacy tag, which is clockwise.
    clockwise = _float(stream.get("tags", {}).get("rotate"))
    return round(clockwise) % 360 if clockwise is not None else 0


def _aspect(value: object) -> str | None:
    """Return a "W:H" ratio with both parts positive, or None."""
    width, _, height = str(value or "").partition(":")
    if width.isdigit() and height.isdigit() and int(width) and int(height):
        return f"{int(width)}:{int(height)}"
    return None


def _rate(value: object) -> float | None:
    """Return a "num/den" rate as a float to 3 places, or None when unknown."""
    numerator, _, denominator = str(value or "").partition("/")
    try:
        rate = float(numerator) / float(denominator or 1)
    except (ValueError, ZeroDivisionError):
        return None
    return round(rate, 3) if rate > 0 and math.isfinite(rate) else None


def _float(value: object) -> float | None:
    """Return a number ffprobe printed as a finite float, or None (absent, "N/A")."""
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _int(value: object) -> int | None:
    """Return a number ffprobe printed as an int, or None."""
    number = _float(value)
    return int(number) if number is not None else None


# ---------------------------------------------------------------------------------- duration


def _duration(
    file: dict[str, Any], url: str, demuxer: str, size: int, limits: Limits, full_read_max: int
) -> tuple[float | None, str | None]:
    """Return the duration in seconds and where it came from, or (None, None)."""
    header = _float(file.get("duration"))
    if header is not None:
        return round(header, 3), "header"
    # The end is a timestamp: the duration runs from the first one (a little below 0 with
    # Opus's pre-skip, say), as ffprobe's own does.
    start = _float(file.get("start_time")) or 0.0
    if demuxer == "matroska":
        end = _tail_end(url, size, limits)
        if end is not None:
            return round(end - start, 3), "tail"
    if size <= full_read_max:
        end = _last_end(tools.input_args(url, demuxer), limits)
        if end is not None:
            return round(end - start, 3), "full_read"
    return None, None


def _tail_end(url: str, size: int, limits: Limits) -> float | None:
    """Return the end of a Matroska file's last packet, read from its header and its tail."""
    joined = matroska.header_and_tail(url, size, timeout=limits.timeout)
    if joined is None:
        return None  # No cluster starts in the tail: its timestamps cannot be read.
    try:
        return _last_end(tools.input_args(None, "matroska"), limits, joined)
    except AnalysisFailed as failure:
        if failure.reason in ("unreadable", "no_stream"):
            return None
        raise


def _last_end(input_args: list[str], limits: Limits, stdin: bytes | None = None) -> float | None:
    """Return the latest end (timestamp plus duration) of the input's packets, or None."""
    output = tools.run(
        [
            tools.FFPROBE,
            "-v",
            "error",
            "-show_entries",
            "packet=pts_time,duration_time",
            "-print_format",
            "csv=p=0",
            *input_args,
        ],
        limits,
        stdin,
    )
    ends = []
    for line in output.decode("ascii", "replace").splitlines():
        timestamp, _, length = line.partition(",")
        start = _float(timestamp)
        if start is not None:
            ends.append(start + (_float(length.partition(",")[0]) or 0.0))
    return max(ends, default=None)
