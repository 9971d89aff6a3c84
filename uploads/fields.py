"""Public path of `MediaFileField`: host projects import it, and their migrations name it."""

from uploads.integration.fields import MediaFileField

__all__ = ["MediaFileField"]
