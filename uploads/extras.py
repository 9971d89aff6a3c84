"""Optional dependencies: each feature behind an extra says, in one line, how to install it.

No Django import here: the command-line uploader uses it too.
"""

from importlib.util import find_spec

DISTRIBUTION = "django-mediaupload"


class MissingExtra(ImportError):
    """A feature's optional dependency is not installed; the message names the extra."""


def installed(module: str) -> bool:
    """Tell whether a top-level module can be imported."""
    return find_spec(module) is not None


def require(*modules: str, extra: str, feature: str) -> None:
    """Raise MissingExtra naming `extra` unless every module can be imported."""
    missing = [module for module in modules if not installed(module)]
    if missing:
        raise MissingExtra(
            f"{feature} needs the '{extra}' extra ({', '.join(missing)} is missing): "
            f"pip install '{DISTRIBUTION}[{extra}]'",
            name=missing[0],
        )
