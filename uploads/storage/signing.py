"""Fast SigV4 presigning: the same URLs and POST forms botocore makes, for a fraction of the CPU.

botocore spends about 0.3-0.4 ms on every presigned URL (endpoint rules, request serialization,
event hooks, key derivation); a multipart upload of 1 GiB signs 64 part URLs, a 200 MiB start 8.
Here the part of the work that never changes for a client and a bucket (the endpoint, the signing
region and service, the signing key of the day) is learnt once, from botocore itself, and each URL
costs one canonical request, one SHA-256 and one HMAC.

Safety: for each client, bucket and kind of request, botocore signs a probe first, and the fast
signer must reproduce that probe byte for byte (same timestamp, expiry and credentials) before it
is used; any difference, or anything unusual (no credentials, another signature version), leaves
that kind of request to botocore. The check is made again every minute, so whatever botocore
learns meanwhile (a bucket's region after a redirect, say) is followed within a minute.
Credentials are read from the client on every call, so rotated or refreshed keys (an instance
role's) are used as botocore would use them.

Time: URLs and forms are dated with `clock.now()`, S3's time when this server's clock is found
over 30 s off it, so a link lives its lifetime by S3's clock (clock.py).

UPLOAD_SPEED_SHORTCUTS = False (read on every call) leaves every request to botocore's presigner.
"""

import base64
import functools
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlsplit

from uploads import conf
from uploads.storage import clock

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger("uploads.storage")

_ALGORITHM = "AWS4-HMAC-SHA256"
_UNSIGNED = "UNSIGNED-PAYLOAD"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PROBE_KEY = "mediaupload-signing-probe/probe.bin"
# How long what was learnt from botocore is trusted before it is checked again.
RELEARN_SECONDS = 60.0


@dataclass(frozen=True)
class Credentials:
    """The keys a request is signed with, as botocore holds them at this moment."""

    access_key: str
    secret_key: str
    token: str | None


@dataclass(frozen=True)
class Endpoint:
    """Where a bucket's objects are addressed and how requests to it are scoped."""

    scheme: str
    netloc: str
    host: str  # the Host header botocore signs (no default port)
    prefix: str  # the URL path before an object's key ('/bucket/' or '/')
    region: str
    service: str


@functools.lru_cache(maxsize=4096)
def _quote(value: str) -> str:
    """Percent-encode a query component as SigV4 and botocore do (kept: a batch of part URLs
    quotes the same names, credential, date and upload id again and again)."""
    return quote(value, safe="-_.~")


def _timestamp(now: float) -> str:
    """The SigV4 timestamp of `now` (seconds since the epoch)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))


_keys: dict[tuple[str, str, str, str], bytes] = {}


def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    """The day's signing key (four HMACs), kept for the next signature of the same day."""
    cache_key = (secret, day, region, service)
    key = _keys.get(cache_key)
    if key is None:
        key = ("AWS4" + secret).encode()
        for part in (day, region, service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        if len(_keys) > 64:
            _keys.clear()
        _keys[cache_key] = key
    return key


def current_credentials(client: "S3Client") -> Credentials | None:
    """The client's credentials now, or None if they cannot be read (then botocore signs)."""
    signer = getattr(client, "_request_signer", None)
    source = getattr(signer, "_credentials", None)
    if source is None or getattr(signer, "signature_version", "") not in ("s3v4", "v4"):
        return None
    frozen = source.get_frozen_credentials()
    if not frozen.access_key or not frozen.secret_key:
        return None
    return Credentials(frozen.access_key, frozen.secret_key, frozen.token)


def presigned_url(
    endpoint: Endpoint,
    credentials: Credentials,
    *,
    method: str,
    key: str,
    params: list[tuple[str, str]],
    headers: dict[str, str],
    expires_in: int,
    amz_date: str,
) -> str:
    """Sign a query-string-authenticated URL for an object, exactly as botocore would."""
    day = amz_date[:8]
    scope = f"{day}/{endpoint.region}/{endpoint.service}/aws4_request"
    signed = {name.lower(): " ".join(value.split()) for name, value in headers.items()}
    signed["host"] = endpoint.host
    names = sorted(signed)
    auth = [
        ("X-Amz-Algorithm", _ALGORITHM),
        ("X-Amz-Credential", f"{credentials.access_key}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires_in)),
        ("X-Amz-SignedHeaders", ";".join(names)),
    ]
    if credentials.token is not None:
        auth.append(("X-Amz-Security-Token", credentials.token))
    pairs = [(_quote(name), _quote(value)) for name, value in [*params, *auth]]
    path = endpoint.prefix + quote(key, safe="/~")
    canonical = "\n".join(
        [
            method,
            path,
            "&".join(f"{name}={value}" for name, value in sorted(pairs)),
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            _UNSIGNED,
        ]
    )
    to_sign = "\n".join(
        [_ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    signing_key = _signing_key(credentials.secret_key, day, endpoint.region, endpoint.service)
    signature = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
    query = "&".join(f"{name}={value}" for name, value in pairs)
    return f"{endpoint.scheme}://{endpoint.netloc}{path}?{query}&X-Amz-Signature={signature}"


def presigned_post(
    endpoint: Endpoint,
    credentials: Credentials,
    *,
    url: str,
    key: str,
    fields: dict[str, str],
    conditions: list[Any],
    bucket: str,
    expiration: str,
    amz_date: str,
) -> dict[str, Any]:
    """Sign a browser POST form (policy and fields), exactly as botocore's presigned POST."""
    scope = (
        f"{credentials.access_key}/{amz_date[:8]}/{endpoint.region}/{endpoint.service}/aws4_request"
    )
    form = {**fields, "key": key, "x-amz-algorithm": _ALGORITHM, "x-amz-credential": scope}
    form["x-amz-date"] = amz_date
    policy_conditions = [
        *conditions,
        {"bucket": bucket},
        {"key": key},
        {"x-amz-algorithm": _ALGORITHM},
        {"x-amz-credential": scope},
        {"x-amz-date": amz_date},
    ]
    if credentials.token is not None:
        form["x-amz-security-token"] = credentials.token
        policy_conditions.append({"x-amz-security-token": credentials.token})
    policy = {"expiration": expiration, "conditions": policy_conditions}
    form["policy"] = base64.b64encode(json.dumps(policy).encode()).decode()
    signing_key = _signing_key(
        credentials.secret_key, amz_date[:8], endpoint.region, endpoint.service
    )
    form["x-amz-signature"] = hmac.new(
        signing_key, form["policy"].encode(), hashlib.sha256
    ).hexdigest()
    return {"url": url, "fields": form}


# ------------------------------------------------------------------ learning from botocore


@dataclass(frozen=True)
class _Learnt:
    """What was learnt for one client, bucket and kind of request (None: botocore signs)."""

    client: Any
    endpoint: Endpoint | None
    url: str = ""  # a presigned POST's form action
    learnt_at: float = field(default_factory=time.monotonic)


_learnt: dict[tuple[str, str, str], _Learnt] = {}
# Speed shortcuts off (UPLOAD_SPEED_SHORTCUTS): nothing is learnt, botocore signs every request.
_BOTOCORE = _Learnt(None, None)
_lock = threading.Lock()


def _endpoint_of(url: str, key: str) -> Endpoint | None:
    """Read the endpoint and scope from a URL botocore presigned for `key`."""
    parts = urlsplit(url)
    encoded = quote(key, safe="/~")
    if not parts.path.endswith(encoded) or parts.hostname is None:
        return None
    credential = dict(parse_qsl(parts.query)).get("X-Amz-Credential", "").split("/")
    if len(credential) != 5 or credential[4] != "aws4_request":
        return None
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return Endpoint(
        scheme=parts.scheme,
        netloc=parts.netloc,
        host=host,
        prefix=parts.path[: -len(encoded)],
        region=credential[2],
        service=credential[3],
    )


def _probe_url(
    client: "S3Client",
    operation: str,
    bucket: str,
    params: Callable[[str], dict[str, Any]],
    fast: Callable[[Endpoint, Credentials, str, str], str],
) -> Endpoint | None:
    """Presign a probe with botocore and check the fast signer makes the very same URL."""
    credentials = current_credentials(client)
    if credentials is None:
        return None
    expected = client.generate_presigned_url(
        operation, Params={"Bucket": bucket, **params(_PROBE_KEY)}, ExpiresIn=77
    )
    endpoint = _endpoint_of(expected, _PROBE_KEY)
    if endpoint is None:
        return None
    amz_date = dict(parse_qsl(urlsplit(expected).query)).get("X-Amz-Date", "")
    if fast(endpoint, credentials, _PROBE_KEY, amz_date) != expected:
        logger.warning("Fast presigning disabled for %s: botocore signs differently", operation)
        return None
    return endpoint


def _learn(kind: str, client: "S3Client", bucket: str, learn: Callable[[], _Learnt]) -> _Learnt:
    """What is known for this kind of request with this client and bucket (learnt once)."""
    cache_key = (kind, bucket, str(id(client)))
    known = _learnt.get(cache_key)
    if (
        known is not None
        and known.client is client
        and time.monotonic() - known.learnt_at < RELEARN_SECONDS
    ):
        return known
    with _lock:
        try:
            known = learn()
        except Exception:  # anything unexpected: botocore keeps signing
            logger.exception("Fast presigning disabled for %s", kind)
            known = _Learnt(client, None)
        if len(_learnt) > 64:
            _learnt.clear()
        _learnt[cache_key] = known
    return known


def _presigned_url(
    operation: str,
    client: "S3Client",
    bucket: str,
    key: str,
    params: Callable[..., dict[str, Any]],
    fast: Callable[..., str],
    args: tuple[Any, ...],
    expires_in: int,
    shape: str = "",
) -> str:
    """Presign `operation` for `key` with the fast signer once it has reproduced botocore's probe
    for this client and bucket, else with botocore. `params(key, *args)` are botocore's Params,
    `fast(endpoint, credentials, key, amz_date, *args, expires_in)` the same URL made here; the
    probe is signed with their defaults, and `shape` names what those defaults stand for (which
    parameters are present), so each shape is learnt and checked on its own."""
    known = (
        _learn(
            f"{operation}:{shape}" if shape else operation,
            client,
            bucket,
            lambda: _Learnt(client, _probe_url(client, operation, bucket, params, fast)),
        )
        if conf.speed_shortcuts()
        else _BOTOCORE
    )
    credentials = current_credentials(client) if known.endpoint else None
    if known.endpoint is None or credentials is None:
        return client.generate_presigned_url(
            operation,
            Params={"Bucket": bucket, **params(key, *args)},
            ExpiresIn=clock.lifetime(expires_in),
        )
    return fast(known.endpoint, credentials, key, _timestamp(clock.now()), *args, expires_in)


# ------------------------------------------------------------------ the requests the app signs


def upload_part_url(
    client: "S3Client",
    *,
    bucket: str,
    key: str,
    upload_id: str,
    part_number: int,
    size: int,
    expires_in: int,
) -> str:
    """A presigned UploadPart URL with its Content-Length signed (botocore's, byte for byte)."""

    def params(
        object_key: str, upload: str = "probe-upload", number: int = 1, length: int = 5
    ) -> dict[str, Any]:
        return {
            "Key": object_key,
            "UploadId": upload,
            "PartNumber": number,
            "ContentLength": length,
        }

    def fast(
        endpoint: Endpoint,
        credentials: Credentials,
        object_key: str,
        amz_date: str,
        upload: str = "probe-upload",
        number: int = 1,
        length: int = 5,
        expires: int = 77,
    ) -> str:
        return presigned_url(
            endpoint,
            credentials,
            method="PUT",
            key=object_key,
            params=[("uploadId", upload), ("partNumber", str(number))],
            headers={"content-length": str(length)},
            expires_in=expires,
            amz_date=amz_date,
        )

    return _presigned_url(
        "upload_part", client, bucket, key, params, fast, (upload_id, part_number, size), expires_in
    )


def download_url(
    client: "S3Client",
    *,
    bucket: str,
    key: str,
    disposition: str,
    expires_in: int,
    content_type: str = "",
) -> str:
    """A presigned GetObject URL with a Content-Disposition override and, when given, a
    Content-Type override (botocore's, byte for byte)."""
    # The probe has the request's shape: botocore adds `response-content-type` only when asked,
    # so a URL with it and one without are learnt (and checked against botocore) apart.
    probe_type = "text/plain; charset=utf-8" if content_type else ""

    def params(
        object_key: str, value: str = "attachment", served_type: str = probe_type
    ) -> dict[str, Any]:
        # botocore writes the query in the order of these Params: the fast signer follows it.
        overrides = {"ResponseContentType": served_type} if served_type else {}
        return {"Key": object_key, "ResponseContentDisposition": value, **overrides}

    def fast(
        endpoint: Endpoint,
        credentials: Credentials,
        object_key: str,
        amz_date: str,
        value: str = "attachment",
        served_type: str = probe_type,
        expires: int = 77,
    ) -> str:
        overrides = [("response-content-type", served_type)] if served_type else []
        return presigned_url(
            endpoint,
            credentials,
            method="GET",
            key=object_key,
            params=[("response-content-disposition", value), *overrides],
            headers={},
            expires_in=expires,
            amz_date=amz_date,
        )

    return _presigned_url(
        "get_object",
        client,
        bucket,
        key,
        params,
        fast,
        (disposition, content_type),
        expires_in,
        shape="content-type" if content_type else "",
    )


def post_form(
    client: "S3Client",
    *,
    bucket: str,
    key: str,
    fields: dict[str, str],
    conditions: list[Any],
    expires_in: int,
) -> dict[str, Any]:
    """A presigned POST form (url and fields) for one key (botocore's, byte for byte)."""

    def botocore_post(object_key: str, expires: int) -> dict[str, Any]:
        return dict(
            client.generate_presigned_post(
                Bucket=bucket,
                Key=object_key,
                Fields=dict(fields),
                Conditions=list(conditions),
                ExpiresIn=expires,
            )
        )

    def learn() -> _Learnt:
        credentials = current_credentials(client)
        if credentials is None:
            return _Learnt(client, None)
        expected = botocore_post(_PROBE_KEY, 77)
        form = expected["fields"]
        policy = json.loads(base64.b64decode(form["policy"]))
        scope = form["x-amz-credential"].split("/")
        if len(scope) != 5:
            return _Learnt(client, None)
        endpoint = Endpoint("", "", "", "", region=scope[2], service=scope[3])
        mine = presigned_post(
            endpoint,
            credentials,
            url=expected["url"],
            key=_PROBE_KEY,
            fields=fields,
            conditions=conditions,
            bucket=bucket,
            expiration=policy["expiration"],
            amz_date=form["x-amz-date"],
        )
        if mine != expected or list(mine["fields"]) != list(form):
            logger.warning("Fast presigning disabled for POST: botocore signs differently")
            return _Learnt(client, None)
        return _Learnt(client, endpoint, url=expected["url"])

    # The learnt form is checked for these fields and conditions' shape; the values may change.
    shape = f"post:{sorted(fields)}:{[type(item).__name__ for item in conditions]}"
    known = _learn(shape, client, bucket, learn) if conf.speed_shortcuts() else _BOTOCORE
    credentials = current_credentials(client) if known.endpoint else None
    if known.endpoint is None or credentials is None:
        return botocore_post(key, clock.lifetime(expires_in))
    now = clock.now()
    expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(now) + expires_in))
    return presigned_post(
        known.endpoint,
        credentials,
        url=known.url,
        key=key,
        fields=fields,
        conditions=conditions,
        bucket=bucket,
        expiration=expiration,
        amz_date=_timestamp(now),
    )
