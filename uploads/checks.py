"""System checks: a deploy missing its bucket or credentials fails loudly at start."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from uploads import conf, registry


@register()
def check_upload_settings(
    *,
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """Report missing or contradictory upload settings."""
    problems: list[CheckMessage] = []
    if not conf.bucket():
        problems.append(
            Error(
                "CONTENT_UPLOAD_BUCKET is not set.",
                hint="Set it to the name of the bucket that receives uploads.",
                id="uploads.E001",
            )
        )
    if conf.max_bytes() < 1:
        problems.append(Error("UPLOAD_MAX_BYTES must be at least 1.", id="uploads.E002"))
    if conf.max_bytes() > conf.OBJECT_MAX_BYTES:
        problems.append(
            Error("UPLOAD_MAX_BYTES is above S3's 5 TiB object limit.", id="uploads.E003")
        )
    if not conf.allowed_types():
        problems.append(
            Error("UPLOAD_ALLOWED_TYPES is empty: nothing could be uploaded.", id="uploads.E004")
        )
    if not 1 <= conf.policy_expires() <= 7 * 24 * 3600:
        problems.append(
            Error(
                "UPLOAD_POLICY_EXPIRES must be between 1 second and 7 days (SigV4's limit).",
                id="uploads.E005",
            )
        )
    if not conf.PART_MIN_BYTES <= conf.part_size() <= conf.PART_MAX_BYTES:
        problems.append(
            Error(
                "UPLOAD_PART_SIZE must be between 5 MiB and 5 GiB (S3's part size limits).",
                id="uploads.E006",
            )
        )
    if conf.multipart_threshold() < 1:
        problems.append(Error("UPLOAD_MULTIPART_THRESHOLD must be positive.", id="uploads.E007"))
    if conf.parallel_parts() < 1 or conf.parallel_files() < 1:
        problems.append(
            Error(
                "UPLOAD_PARALLEL_PARTS and UPLOAD_PARALLEL_FILES must be at least 1.",
                id="uploads.E008",
            )
        )
    scratch, media = conf.key_prefix(), conf.media_prefix()
    if not scratch or not media or scratch.startswith(media) or media.startswith(scratch):
        problems.append(
            Error(
                "UPLOAD_KEY_PREFIX and UPLOAD_MEDIA_PREFIX must be two non-empty prefixes, "
                "neither inside the other.",
                hint="Browsers write the scratch prefix; only the server may write the media one.",
                id="uploads.E009",
            )
        )
    if conf.min_throughput() < 1:
        problems.append(
            Error("UPLOAD_MIN_THROUGHPUT must be at least 1 byte per second.", id="uploads.E010")
        )
    else:
        largest_post = min(conf.multipart_threshold(), conf.max_bytes(), conf.SINGLE_POST_MAX_BYTES)
        longest = conf.policy_expires() + largest_post / conf.min_throughput()
        if longest > 7 * 24 * 3600:
            problems.append(
                Error(
                    "The largest single-POST upload at UPLOAD_MIN_THROUGHPUT would need a policy "
                    "valid for more than 7 days (SigV4's limit).",
                    hint="Raise UPLOAD_MIN_THROUGHPUT or lower UPLOAD_MULTIPART_THRESHOLD.",
                    id="uploads.E011",
                )
            )
    if registry.field_ids() and "uploads.middleware.CurrentUser" not in settings.MIDDLEWARE:
        problems.append(
            Warning(
                "MediaFileField forms cannot tell who submits them.",
                hint="Add 'uploads.middleware.CurrentUser' to MIDDLEWARE, after "
                "AuthenticationMiddleware; until then they refuse new files.",
                id="uploads.W002",
            )
        )
    if bool(conf.get("AWS_ACCESS_KEY_ID")) != bool(conf.get("AWS_SECRET_ACCESS_KEY")):
        problems.append(
            Warning(
                "Only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set.",
                hint="Set both, or neither to use the instance's role.",
                id="uploads.W001",
            )
        )
    return problems
