"""Clients that upload one file, each run in its own process so its memory and CPU are its own.

- `api`: our protocol as a plain client does it (create, parts/ in batches as the page asks for
  them, parts PUT `parallel` at a time from the file, complete), with `requests`; `bytes.py`
  uses it with `--client requests` (by default it runs the CLI).
- `boto3`: boto3's `upload_file` straight to the bucket (its defaults: 8 MiB parts, 10 threads;
  or `--parallel` threads and `--part-size` parts).
- `proxied`: the file PUT, streamed from disk, to the bench's proxying Django view.

Run: `python -m bench.support.client KIND FILE ...` (see `main`); prints one JSON line.
"""

import argparse
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import requests


def api_upload(
    server: str, token: str, path: Path, content_type: str, parallel: int
) -> dict[str, Any]:
    """Upload through the API, as the page does; return the completed record."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    size = path.stat().st_size
    declared: dict[str, Any] = {"filename": path.name, "content_type": content_type, "size": size}
    created = session.post(f"{server}/api/media/", json=declared, timeout=60)
    created.raise_for_status()
    record = created.json()
    upload = record["upload"]
    if upload["method"] == "post":
        with path.open("rb") as body:
            files = {"file": (path.name, body, content_type)}
            requests.post(
                upload["url"], data=upload["fields"], files=files, timeout=600
            ).raise_for_status()
    else:
        send_parts(
            session, server, record["id"], path, upload["part_size"], upload["part_count"], parallel
        )
    completed = session.post(f"{server}/api/media/{record['id']}/complete/", timeout=600)
    completed.raise_for_status()
    return dict(completed.json())


def send_parts(
    session: requests.Session,
    server: str,
    record_id: str,
    path: Path,
    part_size: int,
    part_count: int,
    parallel: int,
) -> None:
    """PUT every part, `parallel` at a time, signing URLs in batches of 2 x parallel."""
    waiting = list(range(1, part_count + 1))
    urls: dict[int, tuple[str, int]] = {}
    lock = threading.Lock()

    def url_for(number: int) -> tuple[str, int]:
        with lock:
            if number not in urls:
                batch = [n for n in waiting if n >= number and n not in urls][: 2 * parallel]
                answer = session.post(
                    f"{server}/api/media/{record_id}/parts/",
                    json={"part_numbers": batch},
                    timeout=60,
                )
                answer.raise_for_status()
                for part in answer.json()["parts"]:
                    urls[part["part_number"]] = (part["url"], part["size"])
            return urls.pop(number)

    def send(number: int) -> None:
        url, size = url_for(number)
        with path.open("rb") as source:
            source.seek((number - 1) * part_size)
            body = source.read(size)
        requests.put(url, data=body, timeout=600).raise_for_status()

    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(send, waiting))


def boto3_upload(
    endpoint: str,
    bucket: str,
    path: Path,
    content_type: str,
    checksums: str,
    threads: int = 0,
    part_size: int = 0,
) -> dict[str, Any]:
    """Upload with boto3's upload_file: its defaults (8 MiB parts, 10 threads), or these."""
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "bench"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "bench-secret"),
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            request_checksum_calculation=cast(Any, checksums),
        ),
    )
    key = f"boto3/{path.name}"
    transfer = (
        TransferConfig(max_concurrency=threads, multipart_chunksize=part_size)
        if threads
        else TransferConfig()
    )
    client.upload_file(
        str(path), bucket, key, ExtraArgs={"ContentType": content_type}, Config=transfer
    )
    return {"key": key, "size": client.head_object(Bucket=bucket, Key=key)["ContentLength"]}


def proxied_upload(server: str, token: str, path: Path, content_type: str) -> dict[str, Any]:
    """PUT the file to the proxying view, streamed from disk."""
    with path.open("rb") as body:
        answer = requests.put(
            f"{server}/bench/proxied/{path.name}",
            data=body,
            headers={
                "Authorization": f"Token {token}",
                "Content-Type": content_type,
                "Content-Length": str(path.stat().st_size),
            },
            timeout=3600,
        )
    answer.raise_for_status()
    return dict(answer.json())


def main() -> None:
    """Upload one file one way; print {"seconds": ..., "result": ...} as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["api", "boto3", "proxied"])
    parser.add_argument("file", type=Path)
    parser.add_argument("--server", default="")
    parser.add_argument("--endpoint", default="")
    parser.add_argument("--bucket", default="bench")
    parser.add_argument("--content-type", default="video/mp4")
    parser.add_argument("--parallel", type=int, default=0, help="api: 4 by default; boto3: its")
    parser.add_argument("--part-size", type=int, default=0, help="boto3: its default unless set")
    parser.add_argument("--checksums", default="when_required")
    args = parser.parse_args()
    token = os.environ.get("MEDIAUPLOAD_TOKEN", "")
    started = time.perf_counter()
    if args.kind == "api":
        result = api_upload(args.server, token, args.file, args.content_type, args.parallel or 4)
    elif args.kind == "boto3":
        result = boto3_upload(
            args.endpoint,
            args.bucket,
            args.file,
            args.content_type,
            args.checksums,
            args.parallel,
            args.part_size,
        )
    else:
        result = proxied_upload(args.server, token, args.file, args.content_type)
    print(json.dumps({"seconds": time.perf_counter() - started, "result": result}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
