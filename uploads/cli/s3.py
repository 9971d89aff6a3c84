"""Sending bytes to S3 with the app's authorizations: one part PUT, or one POST form."""

import re

import requests

from uploads.cli.errors import AnswerTooLarge, NeedsRenewal, StorageRefused, Transient, UploadError
from uploads.cli.http import CONNECT_TIMEOUT, read_answer, retry_after, unreachable
from uploads.cli.streams import FileSlice, FormBody

# Seconds to wait for S3's answer once the body is sent (and between blocks while sending).
TRANSFER_TIMEOUT = 300.0
# S3 answers a PUT or a POST with an empty body or an XML document under 1 KiB, errors included
# (a proxy's error page is a few KiB): each parallel transfer holds at most this much of one.
STORAGE_ANSWER_LIMIT = 64 * 1024
# S3 error codes worth trying again (400 RequestTimeout: the upload stalled).
_TRANSIENT_CODES = {"RequestTimeout", "SlowDown", "InternalError", "ServiceUnavailable"}


def put_part(session: requests.Session, url: str, body: FileSlice) -> str:
    """PUT one part to its presigned URL, exactly its bytes and no extra headers; return its
    ETag ('' if S3 sent none)."""
    response, text = _send(session, "PUT", url, body, {})
    _answer(response, text, "part", ok=(200,))
    return response.headers.get("ETag", "")


def post_form(session: requests.Session, url: str, body: FormBody) -> None:
    """POST the signed form with the file last."""
    headers = {"Content-Type": body.content_type}
    response, text = _send(session, "POST", url, body, headers)
    _answer(response, text, "file", ok=(200, 201, 204))


def _send(
    session: requests.Session,
    method: str,
    url: str,
    body: FileSlice | FormBody,
    headers: dict[str, str],
) -> tuple[requests.Response, str]:
    """Send the request and read the answer's text; a dropped connection or a time-out is
    Transient."""
    try:
        response = session.request(
            method,
            url,
            data=body,
            headers=headers,
            timeout=(CONNECT_TIMEOUT, TRANSFER_TIMEOUT),
            allow_redirects=False,  # the file goes only where the app's authorization says
            stream=True,
        )
        content = read_answer(response, STORAGE_ANSWER_LIMIT)
    except (requests.ConnectionError, requests.Timeout) as error:
        raise Transient(UploadError(f"storage: {unreachable(url, error)}")) from error
    except AnswerTooLarge as error:
        raise UploadError(f"storage's answer is {error}") from error
    return response, content.decode("utf-8", "replace")


def _answer(response: requests.Response, text: str, what: str, *, ok: tuple[int, ...]) -> None:
    """Accept a success; raise Transient, NeedsRenewal (403) or StorageRefused otherwise."""
    if response.status_code in ok:
        return
    code, message = _s3_error(text)
    summary = ": ".join(item for item in (code, message) if item) or response.reason
    refused = StorageRefused(f"storage refused the {what} ({response.status_code} {summary})")
    if response.status_code >= 500 or response.status_code == 429 or code in _TRANSIENT_CODES:
        raise Transient(refused, retry_after=retry_after(response))
    if response.status_code == 403:
        raise NeedsRenewal(refused)
    raise refused


def _s3_error(text: str) -> tuple[str, str]:
    """Return the Code and Message of an S3 XML error body (empty when there are none)."""

    def element(tag: str) -> str:
        match = re.search(rf"<{tag}>([^<]{{0,300}})</{tag}>", text)
        return match.group(1).strip() if match else ""

    return element("Code"), element("Message")
