"""Public path of `MediaFileField` and `MediaFilesField`: host projects import them, and their
migrations name them."""

from uploads.integration.fields import MediaFileField
from uploads.integration.lists import MediaFilesField

__all__ = ["MediaFileField", "MediaFilesField"]
