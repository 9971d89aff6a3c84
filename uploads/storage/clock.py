"""S3's time, measured from the Date header of its answers, so links live as long by S3's clock.

S3 ends a presigned URL at its X-Amz-Date plus X-Amz-Expires, and a POST policy at its
`expiration`, by its own clock; both are written from this server's. A node whose clock runs ahead
issues links that outlive their lifetime (Ceph RGW accepts URLs dated up to an hour ahead), one
that runs behind issues links that die early. So the offset is measured from answers to calls the
app makes anyway, at most once a minute, and beyond 30 s the fast signer signs with S3's time.
Beyond 15 minutes S3 refuses the server's own requests (RequestTimeTooSkewed), and signing is
refused too, saying why.

botocore has no clock to override: when it signs (the fast signer could not reproduce it), the
link's X-Amz-Expires (or the POST's ExpiresIn) is moved by the offset instead, so it still ends
when it should by S3's clock.

The corrected time runs on the monotonic clock from the last measurement: a wall clock stepped
back into line (NTP) between two measurements is neither corrected twice nor refused any longer.
"""

import logging
import time
from dataclasses import dataclass
from typing import Any

from uploads.storage.client import ClockSkewed, fast_timestamp

logger = logging.getLogger("uploads.storage")

# One S3 call a minute pays for reading the Date header; the others only read two clocks.
MEASURE_EVERY_SECONDS = 60.0
# Date is stamped, in whole seconds, somewhere within the call: a slower call (a retry, a long
# copy) says too little, and under 2 s an offset is the header's own rounding.
MAX_ROUND_TRIP_SECONDS = 2.0
NOISE_SECONDS = 2.0
# Drift up to this is left alone (links live minutes): signing stays botocore's, byte for byte.
CORRECT_SECONDS = 30.0
# S3 refuses requests dated more than 15 minutes off its clock (RequestTimeTooSkewed).
REFUSE_SECONDS = 15 * 60.0
_SENT = "uploads_clock_sent"  # where a call notes, in its context, when it left


@dataclass(frozen=True)
class _Measurement:
    """S3's time minus the server's (0 within the Date header's noise), and when it was taken."""

    offset: float
    at: float  # monotonic


_last: _Measurement | None = None
# S3's time minus the monotonic clock, while the server's clock is over 30 s off S3's.
_base: float | None = None


def before_call(context: dict[str, Any], **kwargs: Any) -> None:
    """botocore's before-call hook: note when the call leaves."""
    context[_SENT] = time.monotonic()


def after_call(http_response: Any, context: dict[str, Any], **kwargs: Any) -> None:
    """botocore's after-call hook (errors included): measure the offset from S3's Date header,
    if a minute has passed since the last measurement."""
    received, wall = time.monotonic(), time.time()
    if _last is not None and received - _last.at < MEASURE_EVERY_SECONDS:
        return
    date = http_response.headers.get("Date")
    # No note when an earlier before-call hook answered instead of S3 (botocore's Stubber).
    round_trip = received - context.get(_SENT, float("-inf"))
    if not date or round_trip > MAX_ROUND_TRIP_SECONDS:
        return
    try:
        stamped = fast_timestamp(date).timestamp()
    except (ValueError, OverflowError, RuntimeError):  # not a date botocore can read
        return
    # The stamp's second, half-way through the round trip; S3's time at receipt is half a trip on.
    record(stamped + 0.5 + round_trip / 2, wall=wall, monotonic=received)


def record(s3_time: float, *, wall: float, monotonic: float) -> None:
    """Take S3's time at these readings of the wall and monotonic clocks as the offset."""
    global _last, _base
    offset = s3_time - wall
    if abs(offset) < NOISE_SECONDS:
        offset = 0.0
    _last = _Measurement(offset, monotonic)
    _base = s3_time - monotonic if abs(offset) > CORRECT_SECONDS else None
    if abs(offset) > REFUSE_SECONDS:
        logger.error("%s", refusal(offset))
    elif _base is not None:  # warned at most once a minute, as measurements are made
        logger.warning("%s", correction(offset))


def now() -> float:
    """The time to sign with: the server's clock, or S3's when the two are over 30 s apart."""
    if _base is None:
        return time.time()
    s3_time = time.monotonic() + _base
    skew = s3_time - time.time()  # not the measured one: the server's clock may be put right
    if abs(skew) > REFUSE_SECONDS:
        raise ClockSkewed(refusal(skew))
    return s3_time


def lifetime(expires_in: int) -> int:
    """The ExpiresIn for botocore, which dates with the server's clock, so that a link ends
    `expires_in` seconds from now by S3's."""
    if _base is None:
        return expires_in
    skew = now() - time.time()
    moved = expires_in + round(skew)
    if moved < 1:  # dated further ahead than the link lives: it could never be valid
        raise ClockSkewed(f"{describe(skew)}, more than a link lives; fix its time (NTP)")
    return moved


def offset() -> float | None:
    """S3's time minus the server's, as now known (None until an answer was measured)."""
    if _base is not None:
        return time.monotonic() + _base - time.time()
    return None if _last is None else _last.offset


def problem() -> str:
    """Why S3 refuses what this server signs, when its clock is over 15 minutes off; else ''."""
    skew = offset()
    return refusal(skew) if skew is not None and abs(skew) > REFUSE_SECONDS else ""


def describe(skew: float) -> str:
    """Say how far the server's clock is from S3's (`skew`: S3's time minus the server's)."""
    if abs(skew) < NOISE_SECONDS:
        return "the server's clock agrees with S3's"
    amount = f"{abs(skew) / 60:.0f} minutes" if abs(skew) >= 120 else f"{abs(skew):.0f} s"
    return f"the server's clock is {amount} {'behind' if skew > 0 else 'ahead of'} S3's"


def correction(skew: float) -> str:
    """Say that links are signed with S3's time, and what to fix."""
    return f"{describe(skew)}; links are signed with S3's time: fix the server's time (NTP)"


def refusal(skew: float) -> str:
    """The reason signing is refused."""
    return f"{describe(skew)}: S3 refuses requests over 15 minutes off; fix its time (NTP)"
