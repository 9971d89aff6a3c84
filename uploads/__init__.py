"""mediaupload's Django app: large media uploads straight from the browser to S3.

`import uploads` loads no Django (the command-line uploader imports this package too);
`uploads.attach` imports its module, and so Django's models, on first use.
"""

from typing import Any

__all__ = ["attach"]


def __getattr__(name: str) -> Any:
    """Give `uploads.attach` (uploads.attaching.attach) when it is first asked for."""
    if name == "attach":
        from uploads.attaching import attach

        return attach
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
