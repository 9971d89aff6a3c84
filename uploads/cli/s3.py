"""Sending bytes to S3 with the app's authorizations: one part PUT, or one POST form."""

import re

import requests

from uploads import protocol
from uploads.cli.errors import (
    AnswerTooLarge,
    NeedsRenewal,
    StartOver,
    StorageRefused,
    Transient,
    UploadError,
)
from uploads.cli.http import CONNECT_TIMEOUT, read_answer, retry_after, unreachable
from uploads.cli.streams import FileSlice, FormBody

# Seconds to wait for S3's answer once the body is sent (and between blocks while sending).
TRANSFER_TIMEOUT = 300.0
# S3 answers a PUT or a POST with an empty body or an XML document under 1 KiB, errors included
# (a proxy's error page is a few KiB): each parallel transfer holds at most this much of one.
STORAGE_ANSWER_LIMIT = 64 * 1024


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
        raise unanswered(url, error) from error
    except AnswerTooLarge as error:
        raise UploadError(f"storage's answer is {error}") from error
    return response, content.decode("utf-8", "replace")


def _answer(response: requests.Response, text: str, what: str, *, ok: tuple[int, ...]) -> None:
    """Accept a success; raise what the protocol's table says to do about anything else."""
    if response.status_code not in ok:
        raise refusal(response, text, what)


def unanswered(url: str, error: requests.RequestException) -> Exception:
    """Translate a transfer that got no answer (status 0 to the protocol's table)."""
    reason = UploadError(f"storage: {unreachable(url, error)}")
    return Transient(reason) if protocol.storage_action(0) == "retry" else reason


def refusal(response: requests.Response, text: str, what: str) -> Exception:
    """Translate S3 refusing a signed transfer into what the protocol's table says to do.

    retry: Transient; renew (the signature or policy expired): NeedsRenewal, to sign again;
    restart: StartOver; final: StorageRefused. Any other 403 is final: signing again would
    only be refused again.
    """
    code, message = _s3_error(text)
    summary = ": ".join(item for item in (code, message) if item) or response.reason
    refused = StorageRefused(f"storage refused the {what} ({response.status_code} {summary})")
    action = protocol.storage_action(response.status_code, code, message)
    if action == "retry":
        return Transient(refused, retry_after=retry_after(response))
    if action == "renew":
        return NeedsRenewal(refused)
    if action == "restart":
        return StartOver(str(refused))
    return refused


def _s3_error(text: str) -> tuple[str, str]:
    """Return the Code and Message of an S3 XML error body (empty when there are none)."""

    def element(tag: str) -> str:
        match = re.search(rf"<{tag}>([^<]{{0,300}})</{tag}>", text)
        return match.group(1).strip() if match else ""

    return element("Code"), element("Message")
