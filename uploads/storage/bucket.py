"""Bucket set-up: create it, its CORS rules, and lifecycle rules merged with the operator's own."""

import math
from typing import Any

from botocore.exceptions import ClientError

from uploads import conf
from uploads.storage.client import NOT_FOUND_CODES, error_code, get_client, translate_errors

# Our lifecycle rules carry these ids; rules with any other id belong to the operator and are kept.
ABORT_MULTIPART_RULE = "mediaupload-abort-incomplete-multipart"
EXPIRE_SCRATCH_RULE = "mediaupload-expire-scratch"
# Scratch objects are garbage once verified or abandoned; no POST deadline comes near this.
SCRATCH_EXPIRY_DAYS = 3
_NO_LIFECYCLE = {"NoSuchLifecycleConfiguration"}


def configure_bucket(*, cors_origins: list[str]) -> None:
    """Create the bucket if missing, let these origins upload from a browser, add our lifecycle."""
    client = get_client()
    bucket = conf.bucket()
    with translate_errors("configure bucket"):
        try:
            client.head_bucket(Bucket=bucket)
        except ClientError as error:
            if error_code(error) not in NOT_FOUND_CODES:
                raise
            client.create_bucket(Bucket=bucket, **_location_constraint())
        client.put_bucket_cors(Bucket=bucket, CORSConfiguration=cors_configuration(cors_origins))
        rules = merge_lifecycle_rules(lifecycle_rules(), our_rules())
        client.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={"Rules": rules},  # type: ignore[typeddict-item]
        )


def cors_configuration(origins: list[str]) -> Any:
    """Return the CORS rules a browser upload needs (ETag exposed for multipart)."""
    return {
        "CORSRules": [
            {
                "AllowedOrigins": origins,
                "AllowedMethods": ["GET", "HEAD", "POST", "PUT"],
                "AllowedHeaders": ["*"],
                "ExposeHeaders": ["ETag"],
                "MaxAgeSeconds": 3000,
            }
        ]
    }


def our_rules() -> list[dict[str, Any]]:
    """Return the lifecycle rules the app relies on, by their fixed ids."""
    # A day past the multipart deadline, so `expire_uploads` normally gets there first.
    abort_after_days = math.ceil(conf.multipart_expires() / 86400) + 1
    return [
        {
            "ID": ABORT_MULTIPART_RULE,
            "Filter": {"Prefix": conf.media_prefix()},
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": abort_after_days},
        },
        {
            "ID": EXPIRE_SCRATCH_RULE,
            "Filter": {"Prefix": conf.key_prefix()},
            "Status": "Enabled",
            "Expiration": {"Days": SCRATCH_EXPIRY_DAYS},
        },
    ]


def merge_lifecycle_rules(
    existing: list[dict[str, Any]], ours: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Replace our rules (by id) and keep every other rule the bucket already has."""
    our_ids = {rule["ID"] for rule in ours}
    return [rule for rule in existing if rule.get("ID") not in our_ids] + ours


def lifecycle_rules() -> list[dict[str, Any]]:
    """Return the bucket's lifecycle rules ([] when it has none)."""
    with translate_errors("GetBucketLifecycleConfiguration"):
        try:
            response = get_client().get_bucket_lifecycle_configuration(Bucket=conf.bucket())
        except ClientError as error:
            if error_code(error) in _NO_LIFECYCLE:
                return []
            raise
    return [dict(rule) for rule in response.get("Rules", [])]


def access_problem() -> str:
    """List one key of the bucket; return S3's error code for the refusal, or '' when allowed.

    A GET, not a HEAD: only a response body says *why* S3 refused (bad key, no bucket, no right).
    """
    with translate_errors("ListObjectsV2"):
        try:
            get_client().list_objects_v2(Bucket=conf.bucket(), Prefix=conf.key_prefix(), MaxKeys=1)
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if int(status or 0) >= 500:
                raise
            return error_code(error) or f"HTTP {status}"
    return ""


def _location_constraint() -> dict[str, Any]:
    """Return CreateBucket's location argument; us-east-1 must not send one."""
    region = conf.s3_connection().region
    if region == "us-east-1":
        return {}
    return {"CreateBucketConfiguration": {"LocationConstraint": region}}
