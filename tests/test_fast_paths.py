"""The fast paths made for the benchmarks' targets answer exactly what the generic code they
replace answers: presigned URLs and POST forms byte for byte as botocore signs them, and API
representations key for key as DRF builds them. UPLOAD_SPEED_SHORTCUTS turns both off (then
botocore presigns and DRF represents); tests of the fast paths pin it on, whatever the run's."""

import base64
import json
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest
from botocore.config import Config

from uploads.storage import signing

CONFIGURATIONS = [
    # endpoint, region, addressing style, session token
    ("http://127.0.0.1:9000", "us-east-1", "path", None),
    ("http://localhost:80", "us-east-1", "path", None),
    (None, "us-east-1", "virtual", None),
    (None, "eu-west-1", "virtual", "FQoGZXIvYXdzEJr//////////wEaDEXAMPLE+/="),
    ("https://rgw.example.com", "default", "path", "token"),
    ("http://[::1]:7480", "default", "path", None),
]
KEYS = ["media/0b9c.mp4", "incoming/a b+c.mov", "media/ünï cödé/é~.webm", "x/!'()*;:@&=$,?#[]%"]


def s3_client(endpoint: str | None, region: str, style: str, token: str | None) -> Any:
    """A boto3 S3 client configured as the app configures its own."""
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        aws_session_token=token,
        config=Config(signature_version="s3v4", s3=cast(Any, {"addressing_style": style})),
    )


def amz_date(url: str) -> str:
    """The X-Amz-Date botocore signed a URL with."""
    return dict(parse_qsl(urlsplit(url).query))["X-Amz-Date"]


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_fast_presigned_urls_are_botocores_byte_for_byte(configuration):
    client = s3_client(*configuration)
    endpoint = signing._endpoint_of(
        client.generate_presigned_url(
            "get_object", Params={"Bucket": "my-bucket", "Key": "probe"}, ExpiresIn=60
        ),
        "probe",
    )
    assert endpoint is not None
    credentials = signing.current_credentials(client)
    assert credentials is not None
    for key in KEYS:
        for upload_id, number, size in [("abc", 1, 5), ("2~ZXh+/=.-_x", 10_000, 5 * 1024**3)]:
            expected = client.generate_presigned_url(
                "upload_part",
                Params={
                    "Bucket": "my-bucket",
                    "Key": key,
                    "UploadId": upload_id,
                    "PartNumber": number,
                    "ContentLength": size,
                },
                ExpiresIn=3600,
            )
            assert (
                signing.presigned_url(
                    endpoint,
                    credentials,
                    method="PUT",
                    key=key,
                    params=[("uploadId", upload_id), ("partNumber", str(number))],
                    headers={"content-length": str(size)},
                    expires_in=3600,
                    amz_date=amz_date(expected),
                )
                == expected
            )
        for disposition, served_type in [
            ('attachment; filename="clip.mp4"', ""),
            ("attachment; filename*=utf-8''F%C3%AAte%20d%27%C3%A9t%C3%A9.mov", ""),
            ('inline; filename="notes.txt"', "text/plain; charset=utf-8"),
            ("attachment; filename*=utf-8''%C3%A9t%C3%A9.csv", "text/csv; charset=utf-8"),
        ]:
            overrides = {"ResponseContentType": served_type} if served_type else {}
            expected = client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": "my-bucket",
                    "Key": key,
                    "ResponseContentDisposition": disposition,
                    **overrides,
                },
                ExpiresIn=300,
            )
            served = [("response-content-type", served_type)] if served_type else []
            assert (
                signing.presigned_url(
                    endpoint,
                    credentials,
                    method="GET",
                    key=key,
                    params=[("response-content-disposition", disposition), *served],
                    headers={},
                    expires_in=300,
                    amz_date=amz_date(expected),
                )
                == expected
            )


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_fast_presigned_posts_are_botocores_byte_for_byte(configuration):
    client = s3_client(*configuration)
    credentials = signing.current_credentials(client)
    assert credentials is not None
    for key in KEYS:
        fields = {"Content-Type": "video/mp4"}
        conditions: list[Any] = [{"Content-Type": "video/mp4"}, ["content-length-range", 7, 7]]
        expected = client.generate_presigned_post(
            Bucket="my-bucket",
            Key=key,
            Fields=dict(fields),
            Conditions=list(conditions),
            ExpiresIn=120,
        )
        form = expected["fields"]
        scope = form["x-amz-credential"].split("/")
        mine = signing.presigned_post(
            signing.Endpoint("", "", "", "", region=scope[2], service=scope[3]),
            credentials,
            url=expected["url"],
            key=key,
            fields=fields,
            conditions=conditions,
            bucket="my-bucket",
            expiration=json.loads(base64.b64decode(form["policy"]))["expiration"],
            amz_date=form["x-amz-date"],
        )
        assert mine == expected
        assert list(mine["fields"]) == list(form), "the fields in botocore's order"


def sign_each_kind(client: Any) -> tuple[str, str, dict[str, Any]]:
    """Sign one of each kind the app signs: a part URL (part 2), a download URL and a POST form."""
    url = signing.upload_part_url(
        client,
        bucket="my-bucket",
        key="media/k.mp4",
        upload_id="u",
        part_number=2,
        size=9,
        expires_in=60,
    )
    download = signing.download_url(
        client, bucket="my-bucket", key="media/k.mp4", disposition="attachment", expires_in=60
    )
    form = signing.post_form(
        client,
        bucket="my-bucket",
        key="incoming/k.mp4",
        fields={"Content-Type": "video/mp4"},
        conditions=[{"Content-Type": "video/mp4"}, ["content-length-range", 9, 9]],
        expires_in=60,
    )
    return url, download, form


@pytest.fixture
def shortcuts(settings: Any) -> Any:
    """The speed shortcuts on (the default), whatever the run's UPLOAD_SPEED_SHORTCUTS."""
    settings.UPLOAD_SPEED_SHORTCUTS = True
    return settings


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_the_storage_calls_sign_with_the_fast_signer_once_it_matched(
    configuration, monkeypatch, shortcuts
):
    monkeypatch.setattr(signing, "_learnt", {})  # what earlier tests' clients taught is not ours
    client = s3_client(*configuration)
    url, download, form = sign_each_kind(client)
    learnt = [known for (_, _, _), known in signing._learnt.items() if known.client is client]
    assert len(learnt) == 3 and all(known.endpoint is not None for known in learnt)
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["partNumber"] == "2" and query["X-Amz-SignedHeaders"] == "content-length;host"
    assert "response-content-disposition=attachment" in download
    assert form["fields"]["key"] == "incoming/k.mp4"


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_a_content_type_override_is_learnt_apart_and_signed_as_botocore_signs_it(
    configuration, monkeypatch, shortcuts
):
    from datetime import UTC, datetime

    import botocore.auth

    from uploads.storage import clock

    monkeypatch.setattr(signing, "_learnt", {})
    # One instant for both signers, so their URLs can be compared whole.
    instant = datetime(2026, 11, 29, 13, 20, 0, tzinfo=UTC)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: instant)
    monkeypatch.setattr(clock, "now", instant.timestamp)
    client = s3_client(*configuration)
    calls = counting_botocore(client, monkeypatch)
    served_type = "text/csv; charset=utf-8"

    def sign(content_type: str) -> str:
        return signing.download_url(
            client,
            bucket="my-bucket",
            key="media/ünï.csv",
            disposition='inline; filename="a.csv"',
            expires_in=60,
            content_type=content_type,
        )

    plain, typed = sign(""), sign(served_type)
    assert calls == ["generate_presigned_url"] * 2, "one probe per shape, with and without a type"
    learnt = [known for known in signing._learnt.values() if known.client is client]
    assert len(learnt) == 2 and all(known.endpoint is not None for known in learnt)
    calls.clear()
    assert (sign(""), sign(served_type)) == (plain, typed) and calls == []

    def botocore_url(**overrides: str) -> str:
        url: str = client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": "my-bucket",
                "Key": "media/ünï.csv",
                "ResponseContentDisposition": 'inline; filename="a.csv"',
                **overrides,
            },
            ExpiresIn=60,
        )
        return url

    assert plain == botocore_url()
    assert typed == botocore_url(ResponseContentType=served_type)
    assert dict(parse_qsl(urlsplit(typed).query))["response-content-type"] == served_type
    assert "response-content-type" not in plain


def test_a_content_type_override_is_kept_when_botocore_signs(settings):
    settings.UPLOAD_SPEED_SHORTCUTS = False
    url = signing.download_url(
        s3_client(*CONFIGURATIONS[0]),
        bucket="my-bucket",
        key="media/k.txt",
        disposition="attachment",
        expires_in=60,
        content_type="text/plain; charset=utf-8",
    )
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["response-content-type"] == "text/plain; charset=utf-8"
    assert query["response-content-disposition"] == "attachment"


def test_an_unsigned_client_is_left_to_botocore():
    from botocore import UNSIGNED

    client = boto3.session.Session().client(
        "s3", region_name="us-east-1", config=Config(signature_version=UNSIGNED)
    )
    url = signing.upload_part_url(
        client, bucket="b", key="k", upload_id="u", part_number=1, size=1, expires_in=60
    )
    assert "X-Amz-Signature" not in url


@pytest.mark.django_db
def test_fast_representations_are_drfs_key_for_key(user, settings, shortcuts):
    from datetime import timedelta

    from django.utils import timezone
    from rest_framework import serializers as drf

    from uploads import services
    from uploads.api import serializers
    from uploads.models import MediaFile
    from uploads.multipart import SignedPart, SignedParts

    settings.AWS_S3_ENDPOINT_URL = "http://127.0.0.1:9"  # signing only: nothing is sent
    now = timezone.now()
    pending = MediaFile.objects.create(
        owner=user,
        key="incoming/a.mp4",
        filename="Fête.mp4",
        content_type="video/mp4",
        size=7,
        expires_at=now + timedelta(hours=1),
    )
    uploaded = MediaFile.objects.create(
        owner=user,
        key="media/b.mp4",
        filename="b.mp4",
        content_type="video/mp4",
        size=9,
        status=MediaFile.Status.UPLOADED,
        etag="e",
        uploaded_at=now,
        part_size=5 * 1024**2,
    )

    def generic(serializer: Any, instance: Any) -> Any:
        return drf.Serializer.to_representation(serializer, instance)

    for record in (pending, uploaded, MediaFile.objects.get(pk=uploaded.pk)):
        serializer = serializers.MediaFileSerializer(record)
        assert serializer.data == generic(serializers.MediaFileSerializer(record), record)
    signed = SignedParts(now, [SignedPart(1, "https://s3.test/p1", 5), SignedPart(2, "u2", 2)])
    for upload in (
        services.MultipartUpload(5, 2, now),
        services.MultipartUpload(5, 2, now, signed),
    ):
        created = serializers.CreatedUploadSerializer(pending, context={"upload": upload})
        assert created.data == generic(
            serializers.CreatedUploadSerializer(pending, context={"upload": upload}), pending
        )
        assert created.data["upload"]["part_count"] == 2
    assert created.data["upload"]["first_parts"]["parts"][1]["url"] == "u2"
    assert serializers.SignedPartsSerializer(signed).data == {
        "expires_at": drf.DateTimeField().to_representation(now),
        "parts": [
            {"part_number": 1, "url": "https://s3.test/p1", "size": 5},
            {"part_number": 2, "url": "u2", "size": 2},
        ],
    }


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-29T13:20:00.000Z",
        "2026-11-29T13:20:00Z",
        "2026-02-03T04:05:06.789123Z",
        "Sun, 29 Nov 2026 13:20:00 GMT",
        "Mon, 01 Jan 2024 00:00:00 GMT",
        "2026-11-29T13:20:00+01:00",  # another form: botocore's own parser
        1764422400,
    ],
)
def test_fast_timestamps_are_botocores(value):
    from botocore.utils import parse_timestamp

    from uploads.storage.client import fast_timestamp

    assert fast_timestamp(value) == parse_timestamp(value)


def test_a_fast_signer_that_disagrees_with_botocore_hands_every_request_back_to_it(
    monkeypatch, shortcuts
):
    monkeypatch.setattr(signing, "_learnt", {})
    real_url, real_post = signing.presigned_url, signing.presigned_post

    def wrong_url(*args: Any, **kwargs: Any) -> str:
        return real_url(*args, **kwargs).replace("X-Amz-Signature=", "X-Amz-Signature=wrong")

    def wrong_post(*args: Any, **kwargs: Any) -> dict[str, Any]:
        form = real_post(*args, **kwargs)
        return {**form, "fields": {**form["fields"], "x-amz-signature": "0"}}

    monkeypatch.setattr(signing, "presigned_url", wrong_url)
    monkeypatch.setattr(signing, "presigned_post", wrong_post)
    client = s3_client(*CONFIGURATIONS[0])
    for _ in range(2):  # the probe, then the requests after it: botocore signs each
        url, download, form = sign_each_kind(client)
        for signed in (url, download):
            assert "X-Amz-Signature=wrong" not in signed  # (botocore's may start with a 0)
            assert len(dict(parse_qsl(urlsplit(signed).query))["X-Amz-Signature"]) == 64
        assert len(form["fields"]["x-amz-signature"]) == 64
    assert all(known.endpoint is None for known in signing._learnt.values())


# ---------------------------------------------------------------- UPLOAD_SPEED_SHORTCUTS


def counting_botocore(client: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each presigning call botocore makes for this client (the fast signer's probes too)."""
    calls: list[str] = []
    for name in ("generate_presigned_url", "generate_presigned_post"):
        real = getattr(client, name)

        def counted(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(client, name, counted)
    return calls


def test_with_the_shortcuts_on_botocore_only_signs_the_probes(monkeypatch, shortcuts):
    monkeypatch.setattr(signing, "_learnt", {})
    client = s3_client(*CONFIGURATIONS[0])
    calls = counting_botocore(client, monkeypatch)
    sign_each_kind(client)
    assert sorted(calls) == [
        "generate_presigned_post",
        "generate_presigned_url",
        "generate_presigned_url",
    ], "one probe per kind of request"
    calls.clear()
    for _ in range(3):
        sign_each_kind(client)
    assert calls == [], "the fast signer signs every request after the probes"


def test_with_the_shortcuts_off_botocore_signs_every_request_the_same(monkeypatch, settings):
    settings.UPLOAD_SPEED_SHORTCUTS = False
    monkeypatch.setattr(signing, "_learnt", {})
    client = s3_client(*CONFIGURATIONS[3])  # AWS itself, a session token, virtual addressing
    calls = counting_botocore(client, monkeypatch)
    for rounds in (1, 2):
        url, download, form = sign_each_kind(client)
        assert len(calls) == 3 * rounds, "botocore signs each request: no probe, nothing kept"
    assert signing._learnt == {}

    # Equivalent: what botocore signed is byte for byte what the fast signer makes of the same
    # request at the same instant.
    endpoint = signing._endpoint_of(url, "media/k.mp4")
    credentials = signing.current_credentials(client)
    assert endpoint is not None and credentials is not None
    assert url == signing.presigned_url(
        endpoint,
        credentials,
        method="PUT",
        key="media/k.mp4",
        params=[("uploadId", "u"), ("partNumber", "2")],
        headers={"content-length": "9"},
        expires_in=60,
        amz_date=amz_date(url),
    )
    assert download == signing.presigned_url(
        endpoint,
        credentials,
        method="GET",
        key="media/k.mp4",
        params=[("response-content-disposition", "attachment")],
        headers={},
        expires_in=60,
        amz_date=amz_date(download),
    )
    fields = form["fields"]
    scope = fields["x-amz-credential"].split("/")
    assert form == signing.presigned_post(
        signing.Endpoint("", "", "", "", region=scope[2], service=scope[3]),
        credentials,
        url=form["url"],
        key="incoming/k.mp4",
        fields={"Content-Type": "video/mp4"},
        conditions=[{"Content-Type": "video/mp4"}, ["content-length-range", 9, 9]],
        bucket="my-bucket",
        expiration=json.loads(base64.b64decode(fields["policy"]))["expiration"],
        amz_date=fields["x-amz-date"],
    )

    # Read on every call: on again, the fast signer takes over (after its probes).
    settings.UPLOAD_SPEED_SHORTCUTS = True
    sign_each_kind(client)
    calls.clear()
    sign_each_kind(client)
    assert calls == []


@pytest.mark.django_db
@pytest.mark.parametrize("on", [True, False], ids=["shortcuts on", "shortcuts off"])
def test_the_switch_chooses_between_the_fast_representation_and_drfs(
    on, user, settings, monkeypatch
):
    from datetime import timedelta

    from django.utils import timezone
    from rest_framework import serializers as drf

    from uploads import services
    from uploads.api import serializers
    from uploads.models import MediaFile
    from uploads.multipart import SignedPart, SignedParts

    settings.AWS_S3_ENDPOINT_URL = "http://127.0.0.1:9"  # signing only: nothing is sent
    now = timezone.now()
    record = MediaFile.objects.create(
        owner=user,
        key="incoming/a.mp4",
        filename="a.mp4",
        content_type="video/mp4",
        size=7,
        expires_at=now + timedelta(hours=1),
    )
    signed = SignedParts(now, [SignedPart(1, "https://s3.test/p1", 5)])
    upload = services.MultipartUpload(5, 2, now, signed)

    def answer() -> Any:
        return serializers.CreatedUploadSerializer(record, context={"upload": upload}).data

    settings.UPLOAD_SPEED_SHORTCUTS = True
    fast = answer()
    settings.UPLOAD_SPEED_SHORTCUTS = False
    generic = answer()
    assert fast == generic, "the same answer either way"

    settings.UPLOAD_SPEED_SHORTCUTS = on
    drf_calls: list[str] = []
    real = drf.Serializer.to_representation

    def counted(self: Any, instance: Any) -> Any:
        drf_calls.append(type(self).__name__)
        return real(self, instance)

    monkeypatch.setattr(drf.Serializer, "to_representation", counted)
    assert answer() == fast
    if on:
        assert drf_calls == [], "every serializer answered through its kept fields"
    else:
        assert set(drf_calls) == {
            "CreatedUploadSerializer",
            "MultipartUploadSerializer",
            "SignedPartsSerializer",
            "SignedPartSerializer",
        }, "DRF's own to_representation answered for each serializer, nested ones included"
