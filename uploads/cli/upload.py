"""One file from start to finish: inspect, resume or create, send, complete, report."""

import dataclasses
import threading

import requests

from uploads import protocol
from uploads.cli import files, start
from uploads.cli.answers import Record
from uploads.cli.context import Transfer
from uploads.cli.errors import ApiError, FileProblem, StartOver, TokenRefused, UploadError
from uploads.cli.http import now
from uploads.cli.parts import part_bounds, part_count, send_parts
from uploads.cli.progress import Progress
from uploads.cli.report import Result
from uploads.cli.single import authorize, send_form

# Rounds of `complete` → send what storage misses → `complete` again, while `complete` still
# answers what the protocol's table says to retry once its own retries are used up (the file is
# not received yet): sending again is then what may change the answer.
COMPLETE_ROUNDS = 3
# A record that cannot take the file any more is replaced by a new upload this many times.
MAX_RESTARTS = 1


class Uploader:
    """Uploads files one after another, each with its parts in parallel."""

    def __init__(
        self,
        transfer: Transfer,
        *,
        content_type: str | None = None,
        resume: bool = True,
        bars: bool = False,
    ) -> None:
        self._transfer = transfer
        self._content_type = content_type
        self._resume = resume
        self._bars = bars
        self._resumer = start.Resumer()
        self._token_refused: str | None = None

    def upload(self, path: str) -> Result:
        """Upload one file and say how it ended; never raises for a file that failed."""
        result = Result(file=path)
        started = now()
        try:
            if self._token_refused:
                raise UploadError(self._token_refused)
            local = files.inspect(path, self._content_type)
            result.size = local.size
            self._upload(local, result)
        except TokenRefused as refused:
            self._token_refused = str(refused)
            result.error = str(refused)
        except ApiError as error:
            result.status = error.record_status or result.status
            result.error = str(error)
        except UploadError as error:
            result.error = str(error)
        except requests.RequestException as error:  # a request requests itself refused
            result.error = f"unexpected error: {type(error).__name__}: {error}"
        except OSError as error:  # the file vanished or became unreadable meanwhile
            result.error = f"cannot read the file: {error.strerror or error}"
        except Exception as error:  # a bug, or an answer no one foresaw: one line, not a trace
            result.error = f"unexpected error: {type(error).__name__}: {error}"
        finally:
            result.seconds = round(now() - started, 3)
        return result

    def _upload(self, local: files.LocalFile, result: Result) -> None:
        """Resume or create the record, send the bytes and complete; start over when told to."""
        resume = self._resume
        for restart in range(MAX_RESTARTS + 1):
            transfer = dataclasses.replace(self._transfer, stop=threading.Event())
            try:
                begun = self._resumer.find(transfer, local) if resume else None
                begun = begun or start.create(transfer, local)
                self._resumer.claim(begun.record.id)
                result.id, result.key = begun.record.id, begun.record.key
                result.status = begun.record.status
                record = self._send_and_complete(transfer, local, begun, result)
            except StartOver as closed:
                if restart == MAX_RESTARTS:
                    raise UploadError(str(closed)) from closed
                resume = False
                continue
            result.status, result.key = record.status, record.key
            return

    def _send_and_complete(
        self, transfer: Transfer, local: files.LocalFile, begun: start.Start, result: Result
    ) -> Record:
        """Send what is missing, then complete, sending again what S3 still misses."""
        record_id = begun.record.id
        progress = Progress(local.name, local.size, done=begun.held_bytes, enabled=self._bars)
        if begun.resumed:
            progress.note(f"resuming upload {record_id[:8]}")
        # Every part's ETag, when they are all known: the server then assembles in one S3 call.
        etags = dict(begun.held_etags)
        try:
            if begun.form is not None:
                send_form(transfer, record_id, local, begun.form, progress)
                result.parts_sent += 1
            else:
                sent = send_parts(
                    transfer,
                    record_id,
                    local,
                    begun.part_size,
                    begun.missing,
                    progress,
                    signed=begun.first_parts,
                )
                etags.update(sent)
                result.parts_sent += len(sent)
            progress.note("verifying")
            round_ = 1
            while True:
                if local.changed():
                    raise FileProblem("the file changed while it was being sent; run again")
                try:
                    return transfer.api.complete(record_id, _all_etags(etags, begun, local))
                except ApiError as error:
                    worth_sending = protocol.action_for(error.status, error.code) == "retry"
                    if not worth_sending or round_ >= COMPLETE_ROUNDS:
                        raise
                round_ += 1
                progress.note(f"sending again what storage misses (round {round_})")
                if begun.form is not None:
                    progress.advance(-local.size)
                    send_form(transfer, record_id, local, authorize(transfer, record_id), progress)
                    result.parts_sent += 1
                else:
                    listing = transfer.api.listing(record_id)
                    etags = {part.part_number: part.etag for part in listing.parts}
                    lost = sum(
                        part_bounds(n, begun.part_size, local.size)[1] for n in listing.missing
                    )
                    progress.advance(-lost)
                    sent = send_parts(
                        transfer, record_id, local, begun.part_size, listing.missing, progress
                    )
                    etags.update(sent)
                    result.parts_sent += len(sent)
        finally:
            progress.close()


def _all_etags(
    etags: dict[int, str], begun: start.Start, local: files.LocalFile
) -> dict[int, str] | None:
    """Return the ETags of a multipart upload if every part's is known, else None (the server
    then asks S3 which parts it holds)."""
    if begun.form is not None or not begun.part_size:
        return None
    count = part_count(local.size, begun.part_size)
    complete = len(etags) == count and all(etags.get(n) for n in range(1, count + 1))
    return etags if complete else None
