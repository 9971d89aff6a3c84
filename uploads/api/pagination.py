"""Pagination for the MediaFile list."""

from rest_framework.pagination import PageNumberPagination


class MediaFilePagination(PageNumberPagination):
    """Pages of 20 records, newest first; clients may ask for up to 100."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
