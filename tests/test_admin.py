"""The admin: list, search, filters, re-verify, and deleting a record deletes its object."""

import re

import pytest
from django.contrib.auth.models import User

from tests.support.uploads import sent_record
from uploads import services
from uploads.models import MediaFile

pytestmark = [pytest.mark.functional, pytest.mark.django_db]


@pytest.fixture
def staff_client(client, db):
    """A client signed in as a superuser."""
    admin = User.objects.create_superuser("staff", "staff@example.com", "staff-password")
    client.force_login(admin)
    return client


def upload(user, filename="clip.mp4", body=None, complete=True) -> MediaFile:
    """Create a record with its object in the bucket, and optionally complete it."""
    record = sent_record(user, body, filename=filename)
    return services.complete_upload(media_file=record, via="api") if complete else record


def test_changelist_shows_filename_owner_status_and_human_size(staff_client, user, bucket):
    upload(user, "holiday.mp4")
    html = staff_client.get("/admin/uploads/mediafile/").content.decode()
    assert "holiday.mp4" in html and "alice" in html and "Uploaded" in html
    assert "2.0\xa0KB" in html


@pytest.mark.parametrize("query", ["holiday", "alice", "key"])
def test_search_by_filename_owner_and_key(staff_client, user, other_user, bucket, query):
    mine = upload(user, "holiday.mp4")
    upload(other_user, "other.mp4")
    query = mine.key if query == "key" else query
    html = staff_client.get("/admin/uploads/mediafile/", {"q": query}).content.decode()
    assert "holiday.mp4" in html
    assert "other.mp4" not in html  # search leaves out what does not match


def test_kind_filter_offers_a_few_kinds_however_many_types_exist(staff_client, user, bucket):
    upload(user, "clip.mp4")
    for number in range(30):
        MediaFile.objects.create(
            owner=user,
            key=f"incoming/odd-{number}",
            filename=f"odd{number}.bin",
            content_type=f"video/x-odd-{number}",
            size=1,
        )
    MediaFile.objects.create(
        owner=user, key="incoming/doc", filename="doc.pdf", content_type="application/pdf", size=1
    )
    page = staff_client.get("/admin/uploads/mediafile/").content.decode()
    # The filter sidebar alone (a <nav> before Django 6, a <search> since): no link per type.
    sidebar = re.search(r'id="changelist-filter".*?</(?:nav|search)>', page, re.S)
    assert sidebar and "x-odd-" not in sidebar.group(0) and "video" in sidebar.group(0)
    videos = staff_client.get("/admin/uploads/mediafile/", {"kind": "video"}).content.decode()
    assert "clip.mp4" in videos and "doc.pdf" not in videos
    others = staff_client.get("/admin/uploads/mediafile/", {"kind": "other"}).content.decode()
    assert "doc.pdf" in others and "clip.mp4" not in others


def test_status_filter(staff_client, user, bucket):
    upload(user, "done.mp4")
    upload(user, "waiting.mp4", complete=False)
    html = staff_client.get(
        "/admin/uploads/mediafile/", {"status__exact": "pending"}
    ).content.decode()
    assert "waiting.mp4" in html and "done.mp4" not in html


def test_key_status_and_etag_are_read_only(staff_client, user, bucket):
    record = upload(user)
    html = staff_client.get(f"/admin/uploads/mediafile/{record.pk}/change/").content.decode()
    for field in ("key", "status", "etag"):
        assert f'name="{field}"' not in html
    assert 'name="filename"' in html


def test_the_add_page_hosts_the_uploader(staff_client, bucket):
    response = staff_client.get("/admin/uploads/mediafile/add/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="uploader"' in html and 'id="file-input"' in html and "uploads/uploader.js" in html
    assert response.context["uploader_config"]["csrfToken"]


def test_the_change_page_shows_the_file_and_a_download_link(staff_client, user, bucket):
    record = upload(user, "holiday.mp4")
    html = staff_client.get(f"/admin/uploads/mediafile/{record.pk}/change/").content.decode()
    assert '<video src="http' in html and 'class="media-full"' in html and " controls" in html
    assert "Download holiday.mp4" in html


def test_the_list_shows_lazy_previews(staff_client, user, bucket):
    upload(user, "holiday.mp4")
    html = staff_client.get("/admin/uploads/mediafile/").content.decode()
    assert 'preload="metadata"' in html and 'class="media-thumb"' in html


def test_reverify_action_completes_pending_records(staff_client, user, bucket):
    record = upload(user, complete=False)
    response = staff_client.post(
        "/admin/uploads/mediafile/",
        {"action": "reverify_selected", "_selected_action": [str(record.pk)]},
        follow=True,
    )
    assert "now uploaded" in response.content.decode()
    assert MediaFile.objects.get(pk=record.pk).status == MediaFile.Status.UPLOADED


def test_deleting_a_record_deletes_its_object(
    staff_client, user, bucket, django_capture_on_commit_callbacks
):
    record = upload(user)
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(f"/admin/uploads/mediafile/{record.pk}/delete/", {"post": "yes"})
    assert not MediaFile.objects.exists()
    assert bucket.keys() == []


def test_bulk_delete_deletes_every_object(
    staff_client, user, bucket, django_capture_on_commit_callbacks
):
    records = [upload(user, f"{n}.mp4") for n in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            "/admin/uploads/mediafile/",
            {
                "action": "delete_selected",
                "_selected_action": [str(r.pk) for r in records],
                "post": "yes",
            },
        )
    assert not MediaFile.objects.exists()
    assert bucket.keys() == []


def test_changelist_shows_how_far_a_multipart_upload_got(staff_client, user, bucket, settings):
    settings.UPLOAD_MULTIPART_THRESHOLD = 6 * 1024**2
    settings.UPLOAD_PART_SIZE = 5 * 1024**2
    created = services.create_upload(
        owner=user, filename="long.mp4", content_type="video/mp4", size=20 * 1024**2
    )
    record = created.media_file
    record.record_progress(parts=2, bytes_held=10 * 1024**2)
    html = staff_client.get("/admin/uploads/mediafile/").content.decode()
    assert "50% (10.0\xa0MB, 2 parts)" in html


# ---------------------------------------------------------------- what analysis found

VIDEO_FOUND = {
    "kind": "video",
    "container": "mov,mp4,m4a,3gp,3g2,mj2",
    "width": 640,
    "height": 360,
    "rotation": 0,
    "display_aspect_ratio": "16:9",
    "duration": 10.0,
    "duration_source": "header",
    "frame_rate": 25.0,
    "video_codec": "h264",
    "audio_codec": "aac",
    "has_audio": True,
    "bit_rate": 412_000,
}


def analysed(record: MediaFile, **found) -> MediaFile:
    """Mark a record analysed, as the worker does: what it found, and the files it made."""
    record.analysis_status = MediaFile.Analysis.DONE
    record.metadata = found.get("metadata", VIDEO_FOUND)
    record.derived = found.get(
        "derived",
        {
            "poster": f"derived/{record.pk}/poster.jpg",
            "thumbnail": f"derived/{record.pk}/thumb.jpg",
        },
    )
    record.save()
    return record


def test_the_list_shows_the_thumbnail_analysis_made_else_the_file_itself(
    staff_client, user, bucket
):
    done = analysed(upload(user, "done.mp4"))
    upload(user, "waiting.mp4")
    html = staff_client.get("/admin/uploads/mediafile/").content.decode()
    thumbnails = re.findall(r'<img src="([^"]+)" alt="" loading="lazy" class="media-thumb">', html)
    assert len(thumbnails) == 1 and f"derived/{done.pk}/thumb.jpg" in thumbnails[0]
    assert html.count('<video src="') == 1, "the file not analysed yet shows itself"


def test_the_change_page_shows_the_poster_and_what_analysis_found(staff_client, user, bucket):
    record = analysed(upload(user, "holiday.mp4"))
    html = staff_client.get(f"/admin/uploads/mediafile/{record.pk}/change/").content.decode()
    poster = re.search(r'<video src="[^"]+" poster="([^"]+)"[^>]*class="media-full"', html)
    assert poster and f"derived/{record.pk}/poster.jpg" in poster.group(1)
    found = re.search(r'<dl class="media-facts">(.*?)</dl>', html, re.S)
    assert found, "what analysis found is a list of facts, not raw JSON"
    for fact in (
        "<dt>Duration</dt><dd>0:10</dd>",
        "640\N{MULTIPLICATION SIGN}360 (16:9)",
        "25 fps",
        "h264 video, aac audio",
        "412 kbit/s",
    ):
        assert fact in found.group(0)
    assert '"video_codec"' not in html
    assert "Done" in html


def test_a_failed_analysis_says_why_on_the_change_page(staff_client, user, bucket):
    record = upload(user, "broken.mp4")
    record.analysis_status = MediaFile.Analysis.FAILED
    record.analysis_reason = "unreadable"
    record.save()
    html = staff_client.get(f"/admin/uploads/mediafile/{record.pk}/change/").content.decode()
    assert "Failed (unreadable): The file could not be read as the type it was uploaded as." in html
    assert 'class="media-facts"' not in html


def test_the_list_filters_by_where_analysis_stands(staff_client, user, bucket):
    analysed(upload(user, "done.mp4"))
    failed = upload(user, "broken.mp4")
    failed.analysis_status = MediaFile.Analysis.FAILED
    failed.save()
    html = staff_client.get("/admin/uploads/mediafile/").content.decode()
    sidebar = re.search(r'id="changelist-filter".*?</(?:nav|search)>', html, re.S)
    assert sidebar and "analysis_status__exact=failed" in sidebar.group(0)
    failures = staff_client.get(
        "/admin/uploads/mediafile/", {"analysis_status__exact": "failed"}
    ).content.decode()
    assert "broken.mp4" in failures and "done.mp4" not in failures


def test_a_fields_widget_says_its_bounds_in_words(staff_client, bucket):
    page = staff_client.get("/admin/demo/episode/add/").content.decode()
    assert "At most 5 seconds long." in page  # Episode.teaser's max_duration
