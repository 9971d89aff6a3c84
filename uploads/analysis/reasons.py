"""Every way analysis can fail, as a fixed set: a reason never carries a URL, a path or a tool's
own words (those can hold a signed URL's credentials), only one of these codes and its message."""

from types import MappingProxyType

# code → what a person reads. Transient ones are retried with backoff; the others are final.
MESSAGES = MappingProxyType(
    {
        "timeout": "Analysing the file took longer than the time limit.",
        "memory": "Analysing the file needed more memory than the limit.",
        "unsupported_format": "The file's container or codec is not allowed for its type.",
        "unreadable": "The file could not be read as the type it was uploaded as.",
        "no_decoder": "No installed decoder can read this type.",
        "too_many_pixels": "The image has more pixels than the limit (a decompression bomb?).",
        "no_stream": "The file holds no video or audio stream of its kind.",
        "tool_missing": "ffmpeg/ffprobe is not installed on the worker.",
        "storage": "The file could not be read from storage.",
        "gave_up": "Analysis failed on every attempt.",
        "internal": "Analysis stopped on an unexpected error.",
    }
)

# Worth another attempt later: the store or the worker may do better next time (a timeout or a
# memory limit would only be hit again on the same bytes).
TRANSIENT = frozenset({"storage", "internal"})


class AnalysisFailed(Exception):
    """Analysis of one file failed for `reason` (a key of MESSAGES)."""

    def __init__(self, reason: str) -> None:
        if reason not in MESSAGES:
            raise ValueError(f"unknown analysis failure reason {reason!r}")
        super().__init__(MESSAGES[reason])
        self.reason = reason

    @property
    def transient(self) -> bool:
        """Tell whether a later attempt may succeed."""
        return self.reason in TRANSIENT
