"""Multipart transfers: parts PUT in parallel from disk, their URLs signed ahead and renewed."""

import itertools
import math
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

from uploads import protocol
from uploads.cli import s3
from uploads.cli.answers import SignedPart
from uploads.cli.api import ApiClient
from uploads.cli.context import Transfer
from uploads.cli.errors import ApiError, NeedsRenewal, Transient, UploadError
from uploads.cli.files import LocalFile
from uploads.cli.http import now
from uploads.cli.progress import Progress
from uploads.cli.retry import with_retries
from uploads.cli.streams import FileSlice

# The API signs at most this many parts per call.
MAX_SIGNED = protocol.limit("max_parts_per_sign")
# A URL is signed again this long before it expires (at most a quarter of its life).
RENEW_MARGIN = 10.0


def part_bounds(number: int, part_size: int, size: int) -> tuple[int, int]:
    """Return the offset and length of 1-based part `number` of a file of `size` bytes."""
    offset = (number - 1) * part_size
    return offset, min(part_size, size - offset)


def part_count(size: int, part_size: int) -> int:
    """Return how many parts of `part_size` make `size` bytes."""
    return math.ceil(size / part_size)


class PartSigner:
    """Hands out part URLs: signs a batch ahead, again when one nears expiry or was refused.

    A batch is at least `batch` parts, more on a fast link: as many as go up in half a URL's life
    at the pace so far, so that a fast upload makes few calls (the API rate-limits signing).
    """

    def __init__(self, api: ApiClient, record_id: str, order: Sequence[int], batch: int) -> None:
        self._api = api
        self._record_id = record_id
        self._order = list(order)
        self._position = {number: index for index, number in enumerate(self._order)}
        self._batch = max(1, min(batch, MAX_SIGNED))
        self._urls: dict[int, tuple[SignedPart, float]] = {}
        self._done: set[int] = set()
        self._lock = threading.Lock()
        self._started = now()
        self._lifetime = 0.0

    def url(self, number: int) -> SignedPart:
        """Return a URL for the part that will not expire soon, signing a batch if needed."""
        with self._lock:
            if self._fresh(number):
                return self._urls[number][0]
            following = (
                other
                for other in itertools.islice(self._order, self._position[number] + 1, None)
                if other not in self._done and not self._fresh(other)
            )
            wanted = [number, *itertools.islice(following, self._batch_size() - 1)]
            signed_at = now()
            self._keep(self._api.sign(self._record_id, wanted), signed_at)
            if number not in self._urls:
                raise ApiError(f"the server signed no URL for part {number}", status=200)
            return self._urls[number][0]

    def keep(self, signed: Iterable[SignedPart]) -> None:
        """Hold on to URLs the server has just signed, to hand out before signing any."""
        with self._lock:
            self._keep(signed, now())

    def _keep(self, signed: Iterable[SignedPart], signed_at: float) -> None:
        """Hold on to URLs signed at `signed_at`, each until shortly before its deadline."""
        for part in signed:
            self._lifetime = max(0.0, part.deadline - signed_at)
            margin = min(RENEW_MARGIN, self._lifetime / 4)
            self._urls[part.part_number] = (part, part.deadline - margin)

    def discard(self, number: int) -> None:
        """Forget the part's URL (S3 refused it, or the attempt failed): the next one is fresh."""
        with self._lock:
            self._urls.pop(number, None)

    def done(self, number: int) -> None:
        """Record that the part is stored; its URL is no longer needed."""
        with self._lock:
            self._done.add(number)
            self._urls.pop(number, None)

    def _batch_size(self) -> int:
        """Return how many parts to sign now: enough for half a URL's life at the pace so far."""
        elapsed = now() - self._started
        if not self._done or elapsed <= 0:
            return self._batch
        expected = math.ceil(len(self._done) / elapsed * self._lifetime / 2)
        return max(self._batch, min(MAX_SIGNED, expected))

    def _fresh(self, number: int) -> bool:
        """Tell whether a URL for the part is at hand and not about to expire."""
        held = self._urls.get(number)
        return held is not None and now() < held[1]


def send_parts(
    transfer: Transfer,
    record_id: str,
    local: LocalFile,
    part_size: int,
    numbers: Sequence[int],
    progress: Progress,
    signed: Sequence[SignedPart] = (),
) -> dict[int, str]:
    """PUT these parts, `transfer.parallel` at a time; return the ETag S3 gave each.

    `signed` holds URLs the server has already signed (with the record), used before any others.

    The first part that fails for good stops the others at their next block, then is raised.
    """
    etags: dict[int, str] = {}
    if not numbers:
        return etags
    signer = PartSigner(transfer.api, record_id, numbers, batch=2 * transfer.parallel)
    signer.keep(signed)

    def send(number: int) -> None:
        offset, length = part_bounds(number, part_size, local.size)

        def attempt() -> None:
            signed = signer.url(number)
            if signed.size != length:
                raise UploadError(
                    f"the server planned part {number} as {signed.size} bytes, not {length}"
                )
            with FileSlice(
                local.path,
                offset,
                length,
                cancel=transfer.stop,
                on_read=progress.advance,
                limiter=transfer.limiter,
            ) as body:
                try:
                    etags[number] = s3.put_part(transfer.storage, signed.url, body)
                except (Transient, NeedsRenewal):
                    signer.discard(number)
                    progress.advance(-body.consumed)
                    raise
                except BaseException:
                    progress.advance(-body.consumed)
                    raise
            signer.done(number)

        policy, stop = transfer.policy, transfer.stop
        with_retries(attempt, policy, stop, renew=_nothing, on_retry=progress.note)

    run_parallel(send, numbers, transfer.parallel, transfer.stop)
    return etags


def run_parallel(
    work: Callable[[int], object], items: Sequence[int], parallel: int, stop: threading.Event
) -> None:
    """Run `work` on every item with `parallel` threads; on a failure stop the rest, raise it."""
    pool = ThreadPoolExecutor(max(1, min(parallel, len(items))), "mediaupload")
    futures = [pool.submit(work, item) for item in items]
    try:
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
    except BaseException:  # interrupted: leave the threads to stop on their own
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    failed = next((future.exception() for future in done if future.exception()), None)
    if failed is not None:
        stop.set()  # the others end at their next block
    pool.shutdown(wait=True, cancel_futures=True)
    if failed is not None:
        raise failed


def _nothing() -> None:
    """Renew nothing: a refused part URL was already discarded, the next attempt signs anew."""
