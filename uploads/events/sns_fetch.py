"""GET from SNS: https only, TLS verified against the system's trust store, no redirects, capped."""

import ssl
import urllib.parse
import urllib.request
from typing import Any, Final

FETCH_TIMEOUT_SECONDS: Final = 5.0


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Turn every 3xx into an error: a redirect could lead off the SNS host we checked."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        """Follow nothing; urllib then raises HTTPError for the 3xx response."""
        return None


def _build_opener(context: ssl.SSLContext) -> urllib.request.OpenerDirector:
    """Build an opener that speaks only https, verifies TLS and follows no redirects."""
    # Not build_opener(): that would also add http, ftp, file and data handlers.
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.UnknownHandler(),
        urllib.request.HTTPSHandler(context=context),
        urllib.request.HTTPDefaultErrorHandler(),
        _RefuseRedirects(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


_OPENER = _build_opener(ssl.create_default_context())


def https_get(url: str, limit: int) -> bytes:
    """GET an https URL with a timeout and a size cap; raise OSError, HTTPException, ValueError."""
    if urllib.parse.urlsplit(url).scheme != "https":
        raise ValueError(f"refusing to fetch a non-https URL: {url!r}")
    with _OPENER.open(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise ValueError(f"{url!r} answers more than {limit} bytes")
        # Read one byte past the cap to tell "exactly at the cap" from "over it".
        body: bytes = response.read(limit + 1)
    if len(body) > limit:
        raise ValueError(f"{url!r} answers more than {limit} bytes")
    return body
