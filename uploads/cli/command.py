"""The command line: `mediaupload upload FILE... --server URL --token TOKEN`."""

import argparse
import os
import sys
import threading
from collections.abc import Sequence
from urllib.parse import urlsplit

from uploads.cli.api import ApiClient
from uploads.cli.context import Transfer
from uploads.cli.http import make_session
from uploads.cli.progress import bars_wanted
from uploads.cli.report import Result
from uploads.cli.retry import RetryPolicy
from uploads.cli.throttle import RateLimiter, parse_rate
from uploads.cli.upload import Uploader

TOKEN_VARIABLE = "MEDIAUPLOAD_TOKEN"
SERVER_VARIABLE = "MEDIAUPLOAD_SERVER"
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_DESCRIPTION = """\
Upload media files straight to the app's S3 bucket, as the web page does: the app authorizes
each transfer and verifies the file before it counts as uploaded. Large files go up in parallel
parts; run the same command again after an interruption and only the missing parts are sent.
"""

_EPILOG = f"""\
The token is a DRF token (manage.py drf_create_token USER). Prefer {TOKEN_VARIABLE} to --token:
a command line is visible to other users of the machine.

exit status: 0 when every file ended uploaded, 1 when any did not (one line each on stderr),
2 for a usage error, 130 when interrupted.
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the command line."""
    parser = argparse.ArgumentParser(
        prog="mediaupload",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    upload = commands.add_parser(
        "upload",
        help="upload files",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    upload.add_argument("files", nargs="+", metavar="FILE", help="files to upload, one by one")
    upload.add_argument(
        "--server",
        metavar="URL",
        default=os.environ.get(SERVER_VARIABLE),
        help=f"the app's address, e.g. https://media.example.com (default: ${SERVER_VARIABLE})",
    )
    upload.add_argument(
        "--token",
        metavar="TOKEN",
        default=os.environ.get(TOKEN_VARIABLE),
        help=f"your API token (default: ${TOKEN_VARIABLE})",
    )
    upload.add_argument(
        "--content-type",
        metavar="TYPE",
        help="the media type of every file (default: guessed from each file's name)",
    )
    upload.add_argument(
        "--parallel",
        type=_positive_int,
        default=4,
        metavar="N",
        help="parts of a large file sent at once (default: 4)",
    )
    upload.add_argument(
        "--limit-rate",
        type=_rate,
        metavar="RATE",
        help="send at most RATE bytes a second in all, e.g. 500K, 8M (default: no limit)",
    )
    upload.add_argument(
        "--retries",
        type=_non_negative_int,
        default=4,
        metavar="N",
        help="retries of a request that got no answer, or one worth retrying (default: 4)",
    )
    upload.add_argument(
        "--no-resume",
        dest="resume",
        action="store_false",
        help="always start a new upload, even when a pending one of the same file exists",
    )
    upload.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per file on stdout, and no progress bars",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    server = (args.server or "").strip()
    if urlsplit(server).scheme not in ("http", "https") or not urlsplit(server).netloc:
        parser.error(f"give the app's address with --server URL (or ${SERVER_VARIABLE})")
    if not args.token:
        parser.error(f"give your API token with --token or ${TOKEN_VARIABLE}")
    if not args.token.isascii() or not args.token.isprintable() or " " in args.token.strip():
        parser.error("the token has characters no token has; copy it again")
    args.token = args.token.strip()
    try:
        results = _upload_all(args, server)
    except KeyboardInterrupt:
        # Worker threads may be waiting on S3: leave at once, the next run resumes.
        sys.stderr.write("\ninterrupted: run the same command again to resume\n")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    return 0 if all(result.ok for result in results) else EXIT_FAILED


def _upload_all(args: argparse.Namespace, server: str) -> list[Result]:
    """Upload every file, printing each one's outcome as soon as it is known."""
    pool_size = args.parallel + 2
    policy = RetryPolicy(attempts=args.retries + 1)
    transfer = Transfer(
        api=ApiClient(server, args.token, make_session(pool_size), policy, threading.Event()),
        storage=make_session(pool_size),
        policy=policy,
        parallel=args.parallel,
        stop=threading.Event(),
        limiter=RateLimiter(args.limit_rate) if args.limit_rate else None,
    )
    uploader = Uploader(
        transfer,
        content_type=args.content_type,
        resume=args.resume,
        bars=bars_wanted(args.json),
    )
    results = []
    for path in args.files:
        result = uploader.upload(path)
        results.append(result)
        if args.json:
            print(result.as_json(), flush=True)
        elif result.ok:
            print(result.summary_line(), flush=True)
        if not result.ok:
            print(result.error_line(), file=sys.stderr, flush=True)
    return results


def _positive_int(text: str) -> int:
    """Read an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative_int(text: str) -> int:
    """Read an integer of at least 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be at least 0")
    return value


def _rate(text: str) -> float:
    """Read a --limit-rate value."""
    try:
        return parse_rate(text)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"not a rate: {text!r} (e.g. 500K, 8M)") from None
