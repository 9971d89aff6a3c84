"""What may be uploaded: the site's limits, narrowed per model field. One home for these rules."""

from dataclasses import dataclass
from fnmatch import fnmatchcase

from django.template.defaultfilters import filesizeformat

from uploads import conf


@dataclass(frozen=True)
class Limits:
    """Limits narrower than the site's: type patterns (`video/*`) and a size; None adds nothing."""

    allowed_types: tuple[str, ...] | None = None
    max_bytes: int | None = None

    def type_problem(self, content_type: str) -> str:
        """Say why files of this (lower-cased, bare) type are refused, or return ''."""
        if not conf.is_type_allowed(content_type):
            allowed = ", ".join(conf.allowed_types())
            return f"Files of type {content_type} are not accepted (allowed: {allowed})."
        if not conf.is_type_accepted(content_type):
            # Refused now rather than failed after the upload: its bytes could not be checked.
            return (
                f"Files of type {content_type} are not accepted: their contents cannot be checked."
            )
        if self.allowed_types is not None and not self._narrowed(content_type):
            return (
                f"Files of type {content_type} are not accepted here "
                f"(allowed: {', '.join(self.allowed_types)})."
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
        """Return what a browser may pick: the site's accepted types this narrows to."""
        site = conf.accepted_types()
        if self.allowed_types is None:
            return site
        return [name for name in site if self._narrowed(name) or name in self.allowed_types]

    def _narrowed(self, content_type: str) -> bool:
        """Tell whether a type matches one of these patterns."""
        return any(fnmatchcase(content_type, pattern) for pattern in self.allowed_types or ())


SITE = Limits()
