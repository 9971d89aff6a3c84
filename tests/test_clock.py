"""The app's clock never decides alone how long a link lives: S3's time, measured from its Date
header at most once a minute, dates what is signed once the two are over 30 s apart; over 15
minutes apart, signing is refused with a 503 that says why."""

import base64
import calendar
import json
import logging
import time
from collections.abc import Iterator
from email.utils import formatdate, parsedate_to_datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.clock import forget_s3s_clock, shift_app_clock
from tests.support.media import media_bytes
from tests.support.uploads import send, sent_record
from uploads import services, storage
from uploads.storage import clock, signing
from uploads.storage.client import translate_errors

WALL = 1_800_000_000.0  # the server's clock when a test starts (2027-01-15)
EXPIRES = 300


class FakeClock:
    """The server's wall and monotonic clocks, moved by hand."""

    def __init__(self) -> None:
        self.wall = WALL
        self.ticks = 5_000.0

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.ticks

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.ticks += seconds


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The clock module reads this fake; nothing was measured yet."""
    forget_s3s_clock(monkeypatch)
    monkeypatch.setattr(signing, "_learnt", {})  # no other test's client was learnt
    fake = FakeClock()
    monkeypatch.setattr(clock, "time", fake)
    return fake


def s3_answers(fake: FakeClock, skew: float, round_trip: float = 1.0) -> None:
    """Make one S3 call through the hooks: S3's clock is `skew` seconds ahead of the server's,
    and stamps its Date (whole seconds) half-way through the round trip."""
    context: dict[str, Any] = {}
    clock.before_call(context=context)
    stamp = fake.wall + round_trip / 2 + skew
    fake.advance(round_trip)
    answer = SimpleNamespace(headers={"Date": formatdate(stamp, usegmt=True)})
    clock.after_call(http_response=answer, context=context)


def s3_client() -> Any:
    """A client signing as the app's does (no S3 is called: everything here is presigned)."""
    return boto3.session.Session().client(
        "s3",
        endpoint_url="http://127.0.0.1:9000",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def download(client: Any, expires_in: int = EXPIRES) -> dict[str, str]:
    """Sign a download link; return its query."""
    url = signing.download_url(
        client, bucket="b", key="media/k.mp4", disposition="attachment", expires_in=expires_in
    )
    return dict(parse_qsl(urlsplit(url).query))


def post_policy(client: Any, expires_in: int = EXPIRES) -> tuple[dict[str, str], dict[str, Any]]:
    """Sign a POST form; return its fields and its decoded policy."""
    form = signing.post_form(
        client,
        bucket="b",
        key="incoming/k.mp4",
        fields={"Content-Type": "video/mp4"},
        conditions=[{"Content-Type": "video/mp4"}, ["content-length-range", 9, 9]],
        expires_in=expires_in,
    )
    return form["fields"], json.loads(base64.b64decode(form["fields"]["policy"]))


def stamp(seconds: float) -> str:
    """SigV4's X-Amz-Date of an instant."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(seconds))


def iso(seconds: float) -> str:
    """A POST policy's expiration of an instant."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(seconds)))


@pytest.fixture
def storage_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog, also fed by the storage package's logger (it does not propagate to the root)."""
    log = logging.getLogger("uploads.storage")
    log.addHandler(caplog.handler)
    yield caplog
    log.removeHandler(caplog.handler)


def warned(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The storage package's warnings so far."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "uploads.storage" and record.levelno == logging.WARNING
    ]


# ---------------------------------------------------------------- measuring


def test_the_offset_comes_from_s3s_date_at_most_once_a_minute(fake):
    assert clock.offset() is None
    s3_answers(fake, skew=100)
    assert clock.offset() == 100  # round trip 1 s, stamp on a whole second: exact
    fake.advance(30)
    s3_answers(fake, skew=200)  # within the minute: the header is not even read
    assert clock.offset() == 100
    fake.advance(30)
    s3_answers(fake, skew=200)
    assert clock.offset() == 200


def test_calls_due_together_measure_once(fake):
    first: dict[str, Any] = {}
    second: dict[str, Any] = {}
    clock.before_call(context=first)
    clock.before_call(context=second)  # concurrent: both leave before either answer
    fake.advance(1)
    for context, skew in ((first, 100), (second, 200)):
        date = formatdate(fake.wall + skew, usegmt=True)
        clock.after_call(http_response=SimpleNamespace(headers={"Date": date}), context=context)
    assert clock.offset() == pytest.approx(100, abs=1)


def test_a_slow_answer_is_not_used_and_the_round_trip_is_accounted_for(fake):
    s3_answers(fake, skew=-600, round_trip=2.5)  # a retry or a long copy: Date says too little
    assert clock.offset() is None
    s3_answers(fake, skew=-600, round_trip=1.9)  # the next call measures instead
    assert clock.offset() == pytest.approx(-600, abs=0.5)


def test_an_answer_without_a_date_or_a_departure_measures_nothing(fake):
    context: dict[str, Any] = {}
    clock.before_call(context=context)
    clock.after_call(http_response=SimpleNamespace(headers={}), context=context)
    clock.after_call(http_response=SimpleNamespace(headers={"Date": "soon"}), context=context)
    date = formatdate(fake.wall + 100, usegmt=True)
    clock.after_call(http_response=SimpleNamespace(headers={"Date": date}), context={})
    assert clock.offset() is None


def test_under_2_s_is_the_date_headers_rounding(fake):
    s3_answers(fake, skew=1.4)
    assert clock.offset() == 0


# ---------------------------------------------------------------- signing


def test_under_30_s_links_are_signed_with_the_servers_clock(fake, storage_log):
    client = s3_client()
    s3_answers(fake, skew=25)
    assert clock.offset() == 25
    assert download(client)["X-Amz-Date"] == stamp(fake.wall)
    fields, policy = post_policy(client)
    assert fields["x-amz-date"] == stamp(fake.wall)
    assert policy["expiration"] == iso(fake.wall + EXPIRES)
    assert warned(storage_log) == []


@pytest.mark.parametrize("skew", [-600, 45, 890])
def test_beyond_30_s_links_are_dated_and_expire_by_s3s_time(fake, skew):
    client = s3_client()
    s3_answers(fake, skew=skew)
    fake.advance(100)  # later, with no new measurement: S3's time is carried on
    s3_now = fake.wall + skew
    query = download(client)
    assert query["X-Amz-Date"] == stamp(s3_now)
    assert query["X-Amz-Expires"] == str(EXPIRES)  # so it lives EXPIRES seconds by S3's clock
    fields, policy = post_policy(client)
    assert fields["x-amz-date"] == stamp(s3_now)
    assert policy["expiration"] == iso(s3_now + EXPIRES)


def test_the_warning_comes_at_most_once_a_minute(fake, storage_log):
    client = s3_client()
    for _ in range(6):  # a minute of S3 answers and signatures, 10 s apart
        s3_answers(fake, skew=-600)
        download(client)
        fake.advance(9)
    assert warned(storage_log) == [
        "the server's clock is 10 minutes ahead of S3's; links are signed with S3's time: "
        "fix the server's time (NTP)"
    ]
    fake.advance(1)  # a minute after the first answer
    s3_answers(fake, skew=-600)
    assert len(warned(storage_log)) == 2


def test_beyond_15_minutes_signing_is_refused_saying_why(fake, storage_log):
    client = s3_client()
    s3_answers(fake, skew=-1000)
    message = "the server's clock is 17 minutes ahead of S3's: S3 refuses requests over 15 minutes"
    [logged] = [record for record in storage_log.records if record.name == "uploads.storage"]
    assert logged.levelno == logging.ERROR and logged.getMessage().startswith(message)
    with pytest.raises(storage.ClockSkewed, match=message):
        download(client)
    with pytest.raises(storage.ClockSkewed, match="fix its time \\(NTP\\)"):
        post_policy(client)
    assert clock.problem().startswith(message)


def test_a_clock_put_right_after_the_measurement_is_neither_corrected_twice_nor_refused(fake):
    client = s3_client()
    s3_answers(fake, skew=-1000)
    fake.wall -= 1000  # NTP steps the wall clock back; the monotonic clock does not move
    assert clock.problem() == ""
    assert clock.offset() == 0
    assert download(client)["X-Amz-Date"] == stamp(fake.wall)


def test_botocore_signing_moves_the_lifetime_by_the_offset(fake, monkeypatch):
    client = s3_client()
    monkeypatch.setattr(signing, "_learn", lambda *args: signing._Learnt(client, None))
    s3_answers(fake, skew=-600)
    # botocore dates with the server's clock, 10 minutes ahead of S3's: 900 s by it are 300 by S3.
    assert download(client, expires_in=900)["X-Amz-Expires"] == "300"
    _, policy = post_policy(client, expires_in=900)
    expiration = calendar.timegm(time.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ"))
    assert expiration == pytest.approx(time.time() + 300, abs=5)  # botocore's own clock
    with pytest.raises(storage.ClockSkewed, match="more than a link lives"):
        download(client, expires_in=600)  # it would be over before it is valid


def test_s3_refusing_the_servers_clock_is_a_clock_error():
    answer: Any = {
        "Error": {"Code": "RequestTimeTooSkewed", "Message": "too skewed"},
        "ResponseMetadata": {"HTTPStatusCode": 403},
    }
    refused = ClientError(answer, "HeadObject")
    with (
        pytest.raises(storage.ClockSkewed, match="over 15 minutes off S3's"),
        translate_errors("HEAD object"),
    ):
        raise refused


# ---------------------------------------------------------------- end to end (moto)


def moto_now(endpoint: str) -> float:
    """moto's time, from its Date header."""
    date = requests.get(endpoint, timeout=10).headers["Date"]
    return parsedate_to_datetime(date).timestamp()


@pytest.mark.functional
@pytest.mark.django_db
def test_a_node_10_minutes_ahead_signs_downloads_with_s3s_time(
    api, bucket, moto_endpoint, settings, monkeypatch
):
    shift_app_clock(monkeypatch, 600)
    created = send(api, media_bytes("video/mp4", 2048))
    # complete reads the object: the first S3 answer measures the offset
    assert api.post(f"/api/media/{created['id']}/complete/").status_code == 200
    assert clock.offset() == pytest.approx(-600, abs=2)
    url = api.get(f"/api/media/{created['id']}/").json()["download_url"]
    query = dict(parse_qsl(urlsplit(url).query))
    signed = calendar.timegm(time.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
    assert signed == pytest.approx(moto_now(moto_endpoint), abs=3)
    assert query["X-Amz-Expires"] == str(settings.UPLOAD_DOWNLOAD_EXPIRES)
    assert requests.get(url, timeout=10).status_code == 200


@pytest.mark.functional
@pytest.mark.django_db
def test_a_node_20_minutes_ahead_gets_503_storage_unavailable_saying_why(api, bucket, monkeypatch):
    shift_app_clock(monkeypatch, 1200)
    assert storage.access_problem() == ""  # moto does not mind; this answer measures it
    response = api.post(
        "/api/media/", {"filename": "a.mp4", "content_type": "video/mp4", "size": 10}
    )
    assert response.status_code == 503
    assert response.json()["code"] == "storage_unavailable"
    assert "clock is 20 minutes ahead of S3's" in response.json()["detail"]


# ---------------------------------------------------------------- Ceph RGW


@pytest.mark.s3strict
@pytest.mark.django_db
def test_on_rgw_a_corrected_link_ends_on_time_where_the_skewed_clocks_lives_on(
    strict_bucket, monkeypatch
):
    strict_bucket.put("media/clock.txt", b"tick", "text/plain")
    shift_app_clock(monkeypatch, 600)
    assert storage.access_problem() == ""  # RGW's answer measures the offset
    assert clock.offset() == pytest.approx(-600, abs=2)
    corrected = storage.presign_get(key="media/clock.txt", disposition="attachment", expires_in=2)
    with monkeypatch.context() as uncorrected:
        uncorrected.setattr(clock, "_base", None)  # what the server's clock alone signs
        skewed = storage.presign_get(key="media/clock.txt", disposition="attachment", expires_in=2)
    assert requests.get(corrected, timeout=10).status_code == 200
    time.sleep(5)
    assert requests.get(corrected, timeout=10).status_code == 403  # 2 s by RGW's clock
    # RGW takes a link dated 10 minutes ahead: it would live 10 minutes past its 2 s.
    assert requests.get(skewed, timeout=10).status_code == 200


@pytest.mark.functional
@pytest.mark.django_db
def test_pages_render_without_links_while_the_clock_is_too_far_off(
    client, user, bucket, monkeypatch
):
    record = services.complete_upload(media_file=sent_record(user), via="api")
    client.force_login(user)
    shift_app_clock(monkeypatch, 1200)
    assert storage.access_problem() == ""  # this answer measures the offset
    page = client.get(f"/uploads/{record.pk}/")
    assert page.status_code == 200 and "clip.mp4" in page.content.decode()
    assert "X-Amz-Signature" not in page.content.decode()
