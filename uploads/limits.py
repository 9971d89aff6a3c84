"""What may be uploaded: the site's limits, narrowed per model field. One home for these rules."""

from collections.abc import Sequence
from dataclasses import dataclass, fields
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from django.template.defaultfilters import filesizeformat

from uploads import conf, media_types

if TYPE_CHECKING:
    from uploads.models import MediaFile

# Where analysis stands (MediaFile.Analysis), by what a form can do about it.
_ANALYSED = "done"
_CHECKING = ("none", "pending", "running")


# What may be shown in the page rather than downloaded: types that can't run script.
INLINE_SAFE_KINDS = ("image/", "audio/", "video/")
INLINE_SAFE_TYPES = ("application/pdf", "text/plain")


def is_inline_safe(content_type: str) -> bool:
    """Tell whether a type can be shown inline without running script (never SVG)."""
    if content_type == "image/svg+xml":
        return False
    return content_type.startswith(INLINE_SAFE_KINDS) or content_type in INLINE_SAFE_TYPES


@dataclass(frozen=True)
class Limits:
    """A field's limits (the site's when None): type patterns (`video/*`, `application/pdf`), a
    size, bounds on what analysis finds (duration in seconds, displayed width and height in
    pixels), whether contents are checked, and the documents it shows inline.

    A field's types may name what the site's UPLOAD_ALLOWED_TYPES doesn't, when the type table can
    check them (or the field doesn't check contents); UPLOAD_DENIED_TYPES applies to every field.
    """

    allowed_types: tuple[str, ...] | None = None
    max_bytes: int | None = None
    max_duration: float | None = None
    min_width: int | None = None
    max_width: int | None = None
    min_height: int | None = None
    max_height: int | None = None
    # False: this field takes types nothing can check (a system check warns), beside the site's
    # UPLOAD_VERIFY_CONTENT, which turns checking off everywhere.
    verify_content: bool = True
    # Documents (PDF, plain text) shown in the page rather than downloaded; media always may be.
    inline_types: tuple[str, ...] = ()

    @classmethod
    def of_field(
        cls,
        *,
        allowed_types: Sequence[str] | None = None,
        inline_types: Sequence[str] = (),
        **options: Any,
    ) -> "Limits":
        """Build a model field's limits from its keyword options (types lower-cased)."""
        return cls(
            allowed_types=tuple(pattern.lower() for pattern in allowed_types or ()) or None,
            inline_types=tuple(name.lower() for name in inline_types),
            **options,
        )

    def field_options(self) -> dict[str, Any]:
        """Return the options that differ from the defaults, lists as lists: what a field's
        `deconstruct` writes into a migration (as the field was written)."""
        return {
            option.name: list(value) if isinstance(value, tuple) else value
            for option in fields(self)
            if (value := getattr(self, option.name)) != option.default
        }

    def checks_content(self) -> bool:
        """Tell whether an upload's first bytes are checked against its declared type."""
        return conf.verify_content() and self.verify_content

    def shows_inline(self, content_type: str) -> bool:
        """Tell whether a file of this type may be shown in the page rather than downloaded."""
        if content_type.startswith(INLINE_SAFE_KINDS):
            return is_inline_safe(content_type)
        return content_type in self.inline_types and is_inline_safe(content_type)

    def attach_problem(self, record: "MediaFile") -> str:
        """Say why an uploaded record can't be attached to a field with these limits, or ''."""
        return (
            self.type_problem(record.content_type)
            or self.size_problem(record.size)
            or self.analysis_problem(record.analysis_status, record.metadata)
        )

    @property
    def needs_analysis(self) -> bool:
        """Tell whether a file can be judged only once analysis has found what it is."""
        return any(getattr(self, name) is not None for name in ANALYSED_BOUNDS)

    def analysis_problem(self, analysis_status: str, metadata: dict[str, Any]) -> str:
        """Say why what analysis found breaks these limits, or that it isn't known yet; else ''."""
        if not self.needs_analysis:
            return ""
        if analysis_status in _CHECKING:
            return CHECKING
        if analysis_status != _ANALYSED:
            return "This file could not be checked, so it cannot be used here."
        return self._duration_problem(metadata) or self._size_problems(metadata)

    def describe_bounds(self) -> str:
        """Say the bounds on what analysis finds, for a person: "At most 5 seconds long." ('')."""
        said = []
        if self.max_duration is not None:
            said.append(f"at most {_seconds(self.max_duration)} long")
        for side, low, high in (
            ("wide", self.min_width, self.max_width),
            ("high", self.min_height, self.max_height),
        ):
            if low is not None:
                said.append(f"at least {low} pixels {side}")
            if high is not None:
                said.append(f"at most {high} pixels {side}")
        return f"{'; '.join(said)}.".capitalize() if said else ""

    def _duration_problem(self, metadata: dict[str, Any]) -> str:
        """Compare the duration with max_duration."""
        if self.max_duration is None:
            return ""
        duration = metadata.get("duration")
        if duration is None:
            return "This file's duration could not be determined, so it cannot be used here."
        if duration > self.max_duration:
            return (
                f"This file is {_seconds(duration)} long; "
                f"files here may be at most {_seconds(self.max_duration)}."
            )
        return ""

    def _size_problems(self, metadata: dict[str, Any]) -> str:
        """Compare the displayed width and height with their limits."""
        for side, low, high in (
            ("width", self.min_width, self.max_width),
            ("height", self.min_height, self.max_height),
        ):
            if low is None and high is None:
                continue
            found = metadata.get(side)
            wide = "wide" if side == "width" else "high"
            if found is None:
                return f"This file has no {side}, so it cannot be used here."
            if low is not None and found < low:
                return (
                    f"This file is {found} pixels {wide}; it must be at least {low} pixels {wide}."
                )
            if high is not None and found > high:
                return (
                    f"This file is {found} pixels {wide}; it may be at most {high} pixels {wide}."
                )
        return ""

    def type_problem(self, content_type: str) -> str:
        """Say why files of this (lower-cased, bare) type are refused, or return ''."""
        if self.allowed_types is None:
            if not conf.is_type_allowed(content_type):
                allowed = ", ".join(conf.allowed_types())
                return f"Files of type {content_type} are not accepted (allowed: {allowed})."
        elif conf.is_type_denied(content_type) or not self._narrowed(content_type):
            return (
                f"Files of type {content_type} are not accepted here "
                f"(allowed: {', '.join(self.allowed_types)})."
            )
        if self.checks_content() and not media_types.is_known(content_type):
            # Refused now rather than failed after the upload: its bytes could not be checked.
            return (
                f"Files of type {content_type} are not accepted: their contents cannot be checked."
            )
        return ""

    def size_problem(self, size: int) -> str:
        """Say why a file of this many bytes is refused, or return ''."""
        limit = self.max_size()
        if size > limit:
            return f"Files larger than {filesizeformat(limit)} ({limit} bytes) are not accepted."
        return ""

    def max_size(self) -> int:
        """Return the largest size accepted: the site's limit or this one, whichever is lower."""
        site = conf.max_bytes()
        return site if self.max_bytes is None else min(site, self.max_bytes)

    def accepted_types(self) -> list[str]:
        """Return what a browser may pick: the checkable types allowed, or the patterns if
        contents aren't checked."""
        if self.allowed_types is None:
            return conf.accepted_types()
        if not self.checks_content():
            return list(self.allowed_types)
        return [name for name in media_types.MEDIA_TYPES if not self.type_problem(name)]

    def _narrowed(self, content_type: str) -> bool:
        """Tell whether a type matches one of these patterns."""
        return any(fnmatchcase(content_type, pattern) for pattern in self.allowed_types or ())


SITE = Limits()

# The limits on what analysis finds, by their keyword names.
ANALYSED_BOUNDS = ("max_duration", "min_width", "max_width", "min_height", "max_height")

# What a form says while analysis runs; the widget waits for it to end and asks again.
CHECKING = "This file is still being checked. Please wait a moment and save again."


def _seconds(value: float) -> str:
    """Say a duration the way a person reads it: "10 seconds", "2 min 5 s"."""
    if value < 60:
        return f"{value:g} seconds" if value != 1 else "1 second"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
