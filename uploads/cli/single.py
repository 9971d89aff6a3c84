"""Single-POST transfers: the signed form with the file streamed last, renewed when refused."""

from uploads.cli import s3
from uploads.cli.answers import PostUpload
from uploads.cli.context import Transfer
from uploads.cli.errors import ApiError
from uploads.cli.files import LocalFile
from uploads.cli.progress import Progress
from uploads.cli.retry import with_retries
from uploads.cli.streams import FileSlice, FormBody


def send_form(
    transfer: Transfer, record_id: str, local: LocalFile, upload: PostUpload, progress: Progress
) -> None:
    """POST the file with its signed form; when S3 refuses the policy, ask for a fresh one."""
    current = [upload]

    def attempt() -> None:
        with (
            FileSlice(
                local.path,
                0,
                local.size,
                cancel=transfer.stop,
                on_read=progress.advance,
                limiter=transfer.limiter,
            ) as file,
            FormBody(current[0].fields, local.name, local.content_type, file) as body,
        ):
            try:
                s3.post_form(transfer.storage, current[0].url, body)
            except BaseException:
                progress.advance(-file.consumed)
                raise

    def renew() -> None:
        current[0] = authorize(transfer, record_id)

    with_retries(attempt, transfer.policy, transfer.stop, renew=renew, on_retry=progress.note)


def authorize(transfer: Transfer, record_id: str) -> PostUpload:
    """Return a fresh POST authorization for the pending record."""
    upload = transfer.api.authorize(record_id)
    if not isinstance(upload, PostUpload):
        raise ApiError("the server now wants this file in parts; run again", status=200)
    return upload
