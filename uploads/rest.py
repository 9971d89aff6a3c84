"""Public path of `MediaFileRelatedField`, the DRF field for API clients attaching their uploads."""

from uploads.integration.rest import MediaFileRelatedField

__all__ = ["MediaFileRelatedField"]
