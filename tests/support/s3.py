"""Looking at a test S3 directly, and POSTing to it as a browser does."""

from dataclasses import dataclass
from typing import Any

import boto3
import requests
from botocore.config import Config


@dataclass
class Bucket:
    """A bucket the test owns, with a raw boto3 client to look inside it."""

    name: str
    client: Any

    def read(self, key: str) -> bytes:
        """Return the object's bytes."""
        body: bytes = self.client.get_object(Bucket=self.name, Key=key)["Body"].read()
        return body

    def keys(self) -> list[str]:
        """Return every key in the bucket."""
        listing = self.client.list_objects_v2(Bucket=self.name)
        return [item["Key"] for item in listing.get("Contents", [])]

    def put(self, key: str, body: bytes, content_type: str) -> None:
        """Store an object directly, as a misbehaving client might."""
        self.client.put_object(Bucket=self.name, Key=key, Body=body, ContentType=content_type)


def raw_s3_client(endpoint: str, access_key: str = "testing", secret_key: str = "testing") -> Any:
    """Return a boto3 client for inspecting a test S3 server directly."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def post_to_s3(
    upload: dict[str, Any],
    body: bytes,
    *,
    filename: str = "clip.mp4",
    content_type: str | None = None,
    fields: dict[str, str] | None = None,
) -> requests.Response:
    """POST a file as a browser would: the signed fields first, then the file last, as `file`."""
    form = dict(upload["fields"]) if fields is None else fields
    file_type = content_type or form.get("Content-Type", "application/octet-stream")
    return requests.post(
        upload["url"], data=form, files={"file": (filename, body, file_type)}, timeout=30
    )
