from __future__ import annotations

from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """?page=N, and ?page_size=N up to a bound, so a script can take bigger pages without unbounded ones."""

    page_size_query_param = "page_size"
    max_page_size = 500
