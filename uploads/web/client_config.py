"""The settings the browser's uploader core gets from the server: limits, parallelism, URLs."""

import uuid
from typing import Any

from django.urls import reverse

from uploads import conf, media_types, protocol
from uploads.limits import SITE, Limits

_KINDS = {
    "video": "video",
    "audio": "audio",
    "image": "images",
    "application": "documents",
    "text": "text",
}
_ANY_ID = uuid.UUID(int=0)


def describe_types(types: list[str]) -> str:
    """Say accepted types in words: "video (MP4, MOV), images (PNG)"; "video/*" says "video"."""
    by_kind: dict[str, list[str]] = {}
    for content_type in types:
        kind, _, subtype = content_type.partition("/")
        names = by_kind.setdefault(_KINDS.get(kind, kind), [])
        # "" stands for any type of the kind.
        name = "" if subtype == "*" else (media_types.extension_for(content_type) or subtype)
        if name.lstrip(".").upper() not in names:
            names.append(name.lstrip(".").upper())
    return ", ".join(
        kind if "" in names else f"{kind} ({', '.join(names)})" for kind, names in by_kind.items()
    )


def client_config(limits: Limits = SITE, *, field: str = "") -> dict[str, Any]:
    """Return the uploader's settings for these limits (a field's, or the site's)."""
    accepted = limits.accepted_types()
    return {
        "api": reverse("uploads:media-list"),
        "maxBytes": limits.max_size(),
        "allowedTypes": accepted,
        "acceptedSummary": describe_types(accepted),
        # What the server uses: above 5 GiB every upload is multipart, whatever the setting.
        "multipartThreshold": min(conf.multipart_threshold(), conf.SINGLE_POST_MAX_BYTES),
        "parallelParts": conf.parallel_parts(),
        "parallelFiles": conf.parallel_files(),
        "policyExpires": conf.policy_expires(),
        # The page of upload <id> is this prefix + "<id>/".
        "uploadsPage": reverse("uploads:detail", args=[_ANY_ID]).removesuffix(f"{_ANY_ID}/"),
        # A model field's id: the create call names it, so its limits apply before any signing.
        "field": field,
        # The protocol's vocabulary (error codes and what to do about each, record statuses,
        # signing limits): the page reads this table instead of restating it.
        "protocol": protocol.table(),
    }
