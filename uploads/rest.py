"""Public path of `MediaFileRelatedField` and `MediaFilesRelatedField`, the DRF fields for API
clients attaching their uploads."""

from uploads.integration.rest import MediaFileRelatedField, MediaFilesRelatedField

__all__ = ["MediaFileRelatedField", "MediaFilesRelatedField"]
