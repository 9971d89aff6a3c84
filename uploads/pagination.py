"""Public path of `MediaFilePagination`, the API's pagination for the MediaFile list."""

from uploads.api.pagination import MediaFilePagination

__all__ = ["MediaFilePagination"]
