"""What happened to each file: one JSON object for scripts, or one line for a person."""

import json
from dataclasses import asdict, dataclass

from uploads import protocol


@dataclass
class Result:
    """The outcome of one file; `status` is its record's, None when no record was made."""

    file: str
    id: str | None = None
    status: str | None = None
    key: str | None = None
    size: int | None = None
    parts_sent: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Tell whether the file ended uploaded."""
        # Only a completion the app accepted leaves no error: it answers any other ending with a
        # conflict. A settled status guards against a server that says 200 to an open record.
        return self.error is None and self.status in protocol.final_statuses()

    def as_json(self) -> str:
        """Return the result as one line of JSON."""
        return json.dumps(asdict(self), separators=(", ", ": "))

    def error_line(self) -> str:
        """Return the one line that says why the file failed."""
        return f"{self.file}: {self.error or f'ended {self.status}'}"

    def summary_line(self) -> str:
        """Return the one line that says the file is uploaded."""
        size = f"{(self.size or 0) / 1024**2:.1f} MiB"
        return f"{self.file}: uploaded as {self.key} (id {self.id}, {size} in {self.seconds:.1f} s)"
