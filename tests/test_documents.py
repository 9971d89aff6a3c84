"""Documents per field: PDF, ZIP, Office Open XML (checked by their members), plain text and CSV
(checked as UTF-8 that no browser sniffs as HTML); a field's types beside the site's."""

import io
import zipfile
from typing import Any

import pytest

from tests.support.media import OFFICE_MEMBERS, media_bytes, zip_archive
from uploads import documents
from uploads.checks import _content_problems
from uploads.integration.fields import MediaFileField
from uploads.limits import SITE, Limits
from uploads.media_types import content_problem

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOCM = "application/vnd.ms-word.document.macroenabled.12"
SCRIPTS = Limits(allowed_types=("application/pdf", DOCX, "text/plain"))


# ---------------------------------------------------------------- text


@pytest.mark.parametrize(
    "text",
    [
        b"name,age\nAda,36\n",
        "caf\u00e9,cr\u00e8me\n".encode(),
        b"\xef\xbb\xbfbom,first\n",
        b"<3 you\n",
    ],
)
def test_utf8_text_is_text(text: bytes) -> None:
    assert documents.text_problem(text, content_type="text/csv") == ""


def test_an_excerpt_cut_inside_a_character_is_still_text() -> None:
    cut = "caf\u00e9".encode()[:-1]
    assert documents.text_problem(cut, content_type="text/plain") == ""


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b"a,b\x00c", "The file holds NUL bytes, so it is not text/plain text."),
        (b"\xff\xfeU\x00T\x00F\x00", "The file holds NUL bytes, so it is not text/plain text."),
        (b"caf\xe9 au lait", "The file is not UTF-8 text, so it is not text/plain."),
    ],
)
def test_binary_or_other_encodings_are_not_text(text: bytes, problem: str) -> None:
    assert documents.text_problem(text, content_type="text/plain") == problem


@pytest.mark.parametrize(
    "start",
    [
        b"<!DOCTYPE html><p>hi",
        b"  \n<html>",
        b"\xef\xbb\xbf<script>alert(1)</script>",
        b"<IFRAME src=x>",
        b"<?xml version='1.0'?><svg/>",
        b"<!-- a comment -->",
        b"<a href=x>",
        b"<body\tonload=x>",
    ],
)
def test_text_a_browser_would_sniff_as_html_is_refused(start: bytes) -> None:
    problem = documents.text_problem(start, content_type="text/plain")
    assert problem == "The file starts like HTML or XML, which a browser could run: not text/plain."


def test_a_tag_like_word_is_not_html() -> None:
    assert (
        documents.text_problem(b"<article> is a tag, <br-ish> is not", content_type="text/plain")
        == ""
    )


# ---------------------------------------------------------------- signatures and ZIP members


def test_pdf_zip_and_office_files_carry_their_signatures() -> None:
    assert content_problem("application/pdf", media_bytes("application/pdf", 2048)) == ""
    assert content_problem(DOCX, media_bytes(DOCX, 2048)) == ""
    assert content_problem("application/zip", zip_archive([])) == ""


def test_an_html_file_declared_pdf_or_docx_is_refused_from_its_first_bytes() -> None:
    html = b"<!doctype html><script>steal()</script>"
    assert "not application/pdf" in content_problem("application/pdf", html)
    assert content_problem(DOCX, html).startswith(f"The file's contents are not {DOCX}")


def test_the_central_directory_names_the_members() -> None:
    archive = zip_archive(OFFICE_MEMBERS[DOCX], padding=100_000)
    tail = archive[-documents.TAIL_BYTES :]
    location = documents.directory_location(tail, len(archive))
    assert location is not None
    offset, length = location
    names = documents.member_names(archive[offset : offset + length])
    assert names == ["[Content_Types].xml", "word/document.xml", "padding.bin"]
    members = ("[Content_Types].xml", "word/")
    assert documents.members_problem(names, required=members, content_type=DOCX) == ""


def test_a_plain_zip_renamed_docx_lacks_the_members() -> None:
    names = documents.member_names(_directory(zip_archive(["notes.txt"])))
    problem = documents.members_problem(
        names, required=("[Content_Types].xml", "word/"), content_type=DOCX
    )
    assert problem == f"The file is a ZIP archive but not {DOCX} (it has no [Content_Types].xml)."


def test_a_zip_comment_does_not_hide_the_directory() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", b"x")
        archive.comment = b"PK\x05\x06 looks like an end record" * 100
    data = out.getvalue()
    assert documents.directory_location(data, len(data)) is not None


def test_no_end_record_means_no_directory() -> None:
    assert documents.directory_location(b"PK\x03\x04" + bytes(100), 104) is None


def _directory(archive: bytes) -> bytes:
    """The central directory of a whole archive."""
    location = documents.directory_location(archive, len(archive))
    assert location is not None
    return archive[location[0] : location[0] + location[1]]


# ---------------------------------------------------------------- a field's types


def test_a_field_may_take_documents_the_site_does_not_list() -> None:
    assert SITE.type_problem("application/pdf").startswith("Files of type application/pdf")
    assert SCRIPTS.type_problem("application/pdf") == ""
    assert SCRIPTS.type_problem(DOCX) == ""
    assert "not accepted here" in SCRIPTS.type_problem("video/mp4")
    assert SCRIPTS.accepted_types() == ["application/pdf", DOCX, "text/plain"]


def test_macro_enabled_office_files_are_denied_even_when_a_field_names_them() -> None:
    assert "not accepted here" in Limits(allowed_types=(DOCM,)).type_problem(DOCM)
    assert "not accepted here" in Limits(allowed_types=("application/*",)).type_problem(DOCM)


def test_a_field_that_checks_nothing_takes_types_the_table_does_not_know() -> None:
    unchecked = Limits(allowed_types=("application/x-sketch",), verify_content=False)
    assert unchecked.type_problem("application/x-sketch") == ""
    assert unchecked.accepted_types() == ["application/x-sketch"]
    checked = Limits(allowed_types=("application/x-sketch",))
    assert "cannot be checked" in checked.type_problem("application/x-sketch")


def test_documents_show_inline_only_where_the_field_says() -> None:
    pdf_inline = Limits(allowed_types=("application/pdf",), inline_types=("application/pdf",))
    assert pdf_inline.shows_inline("application/pdf")
    assert not SCRIPTS.shows_inline("application/pdf")
    assert SCRIPTS.shows_inline("image/png") and not SCRIPTS.shows_inline("image/svg+xml")


def test_the_system_checks_name_unchecked_fields_and_unsafe_inline_types() -> None:
    unchecked = Limits(allowed_types=("application/x-sketch",), verify_content=False)
    assert [m.id for m in _content_problems("a.b.c", unchecked, None)] == ["uploads.W009"]
    unsafe = Limits(allowed_types=("text/html",), inline_types=("text/html", "image/svg+xml"))
    (error,) = _content_problems("a.b.c", unsafe, None)
    assert error.id == "uploads.E021"
    assert "text/html, image/svg+xml" in error.msg


def test_the_field_writes_only_its_own_options_into_migrations() -> None:
    field = MediaFileField(
        allowed_types=["application/pdf"], inline_types=["application/pdf"], verify_content=False
    )
    field.set_attributes_from_name("script")
    name, path, _, kwargs = field.deconstruct()
    assert (name, path) == ("script", "uploads.fields.MediaFileField")
    assert {key: kwargs[key] for key in ("allowed_types", "inline_types", "verify_content")} == {
        "allowed_types": ["application/pdf"],
        "inline_types": ["application/pdf"],
        "verify_content": False,
    }
    assert "max_duration" not in kwargs and "max_bytes" not in kwargs


@pytest.mark.functional
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("filename", "content_type", "body", "reason"),
    [
        ("script.pdf", "application/pdf", media_bytes("application/pdf", 4096), ""),
        ("script.docx", DOCX, media_bytes(DOCX, 100_000), ""),
        ("notes.txt", "text/plain", b"Scene 1. A kitchen.\n" * 50, ""),
        (
            "renamed.docx",
            DOCX,
            zip_archive(["notes.txt"], padding=4096),
            f"The file is a ZIP archive but not {DOCX} (it has no [Content_Types].xml).",
        ),
        (
            "page.txt",
            "text/plain",
            b"<html><script>fetch('/api/media/')</script></html>",
            "The file starts like HTML or XML, which a browser could run: not text/plain.",
        ),
    ],
)
def test_documents_uploaded_for_a_field_are_checked(
    api: Any, bucket: Any, filename: str, content_type: str, body: bytes, reason: str
) -> None:
    from tests.support.s3 import post_to_s3
    from tests.support.uploads import declare

    field = "demo.episode.script"
    created = declare(api, body, filename=filename, content_type=content_type, field=field)
    assert post_to_s3(created["upload"], body, content_type=content_type).status_code == 204
    answer = api.post(f"/api/media/{created['id']}/complete/")
    if not reason:
        assert answer.status_code == 200, answer.content
        assert answer.json()["status"] == "uploaded"
        return
    assert answer.status_code == 409
    assert (answer.json()["code"], answer.json()["detail"]) == ("upload_failed", reason)
    assert bucket.keys() == []  # nothing is kept of a refused file
