"""Admin for MediaFile records: browse, search, re-verify, and delete together with the object;
see what the background analysis found (thumbnail, poster, figures), filter by where it stands."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import BaseModelAdmin
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from uploads import services, storage
from uploads.analysis.reasons import MESSAGES
from uploads.errors import UploadConflict
from uploads.integration.fields import MediaFileField
from uploads.integration.lists import MediaFilesField
from uploads.models import MediaFile
from uploads.web.client_config import client_config
from uploads.web.pages import media_facts


class KindFilter(admin.SimpleListFilter):
    """Filter by the top-level type: a handful of choices, however many types users declare."""

    title = "kind"
    parameter_name = "kind"
    KINDS = ("video", "audio", "image")

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        """Offer the kinds, and everything else."""
        return [(kind, kind.capitalize()) for kind in self.KINDS] + [("other", "Other")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[MediaFile]) -> QuerySet[MediaFile]:
        """Keep records of the chosen kind."""
        if self.value() in self.KINDS:
            return queryset.filter(content_type__startswith=f"{self.value()}/")
        if self.value() == "other":
            return queryset.exclude(content_type__regex=r"^(" + "|".join(self.KINDS) + ")/")
        return queryset


def _media_element(media_file: MediaFile, *, small: bool) -> str:
    """An <img>, <video> or <audio> of an uploaded record on a short-lived URL ('' otherwise):
    small, the thumbnail analysis made when there is one; a video shows its poster frame."""
    url = services.preview_url(media_file)
    kind = media_file.kind
    if url is None or kind not in {"image", "video", "audio"}:
        return ""
    # Sized by uploads/admin.css (no inline styles: the Content-Security-Policy forbids them).
    css = "media-thumb" if small else "media-full"
    thumbnail = services.derived_preview_url(media_file, "thumbnail") if small else None
    if thumbnail:
        return format_html('<img src="{}" alt="" loading="lazy" class="{}">', thumbnail, css)
    if kind == "image":
        return format_html('<img src="{}" alt="" loading="lazy" class="{}">', url, css)
    if kind == "video":
        controls = "" if small else " controls"
        poster = None if small else services.derived_preview_url(media_file, "poster")
        return format_html(
            '<video src="{}"{} preload="metadata" muted playsinline class="{}"{}></video>',
            url,
            format_html(' poster="{}"', poster) if poster else "",
            css,
            controls,
        )
    return "" if small else format_html('<audio src="{}" controls preload="metadata"></audio>', url)


def media_preview(field_name: str, *, description: str | None = None) -> Callable[[Any], str]:
    """A `list_display` column for any model's admin: a small preview of the file its
    MediaFileField `field_name` holds, as the MediaFile list shows it (the thumbnail analysis made,
    else the image or a muted video; nothing for audio, other types or a file not uploaded).

        list_display = ["title", media_preview("video")]
        list_select_related = ["video"]  # one query for the page, not one per row

        class Media:
            css = {"all": ["uploads/admin.css"]}  # the previews' size

    The column is headed `description` (the field's name by default); an empty field shows "—".
    """

    @admin.display(description=field_name.replace("_", " ") if description is None else description)
    def preview(obj: Any) -> str:
        media_file = getattr(obj, field_name, None)
        if not isinstance(media_file, MediaFile):
            return "—"
        return _media_element(media_file, small=True)

    preview.__name__ = f"{field_name}_preview"
    return preview


def _unwrapped_upload_widgets(
    original: Callable[..., Any],
) -> Callable[..., Any]:
    """Keep the admin from wrapping upload widgets in its add/change/delete related-object links,
    and from leaving out a MediaFilesField."""

    def formfield_for_dbfield(self: Any, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if isinstance(db_field, MediaFilesField):
            # The admin leaves out a many-to-many whose through model it did not create (it can't
            # fill extra columns); this field writes its positions itself, and has no select.
            return db_field.formfield(**kwargs)
        formfield = original(self, db_field, request, **kwargs)
        # Those links expect a <select> of records: the add popup would put a bare record id in
        # the field, which it rightly refuses. The widget has its own upload, replace and clear.
        if isinstance(db_field, MediaFileField) and isinstance(
            getattr(formfield, "widget", None), RelatedFieldWidgetWrapper
        ):
            formfield.widget = formfield.widget.widget
        return formfield

    return formfield_for_dbfield


BaseModelAdmin.formfield_for_dbfield = _unwrapped_upload_widgets(  # type: ignore[method-assign]
    BaseModelAdmin.formfield_for_dbfield
)


@admin.register(MediaFile)
class MediaFileAdmin(admin.ModelAdmin[MediaFile]):
    """Staff view of every upload; records are created through the API only."""

    list_display = [
        "thumbnail",
        "filename",
        "owner",
        "status",
        "human_size",
        "progress",
        "content_type",
        "created_at",
    ]
    list_filter = ["status", KindFilter, "analysis_status", "created_at"]
    search_fields = ["filename", "key", "owner__username", "owner__email"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "preview",
        "id",
        "key",
        "owner",
        "content_type",
        "size",
        "status",
        "etag",
        "failure_reason",
        "created_at",
        "updated_at",
        "uploaded_at",
        "expires_at",
        "progress",
        "upload_id",
        "part_size",
        "field",
        "analysis",
        "found",
    ]
    fields = ["filename", *readonly_fields]
    actions = ["reverify_selected"]

    class Media:
        css = {"all": ["uploads/admin.css"]}

    @admin.display(description="size", ordering="size")
    def human_size(self, media_file: MediaFile) -> str:
        """Show the declared size as people read it."""
        return filesizeformat(media_file.size)

    @admin.display(description="progress")
    def progress(self, media_file: MediaFile) -> str:
        """Show how much of the file S3 held when the server last looked."""
        if media_file.status == MediaFile.Status.UPLOADED:
            return "complete"
        if not media_file.is_multipart:
            return "—"
        percent = 100 * media_file.bytes_confirmed // media_file.size
        return (
            f"{percent}% ({filesizeformat(media_file.bytes_confirmed)}, "
            f"{media_file.parts_confirmed} parts)"
        )

    @admin.display(description="")
    def thumbnail(self, media_file: MediaFile) -> str:
        """A small preview in the list, loaded lazily from a short-lived URL (as media_preview)."""
        return _media_element(media_file, small=True)

    @admin.display(description="analysis", ordering="analysis_status")
    def analysis(self, media_file: MediaFile) -> str:
        """Say where the background analysis stands, and why it failed."""
        status = media_file.get_analysis_status_display()
        reason = media_file.analysis_reason
        if not reason:
            return status
        why = MESSAGES.get(reason, "")
        if media_file.analysis_status == MediaFile.Analysis.FAILED:
            return f"{status} ({reason}): {why}"
        # A passing failure: the record waits for another attempt.
        return f"{status}; the last attempt failed ({reason}): {why}"

    @admin.display(description="what analysis found")
    def found(self, media_file: MediaFile) -> SafeString | str:
        """What analysis found, as a small list of facts ('—' until it is done)."""
        facts = media_facts(media_file)
        if not facts:
            return "—"
        rows = format_html_join("", "<dt>{}</dt><dd>{}</dd>", facts)
        return format_html('<dl class="media-facts">{}</dl>', rows)

    @admin.display(description="file")
    def preview(self, media_file: MediaFile) -> str:
        """The file itself, shown or played, with a download link."""
        url = services.preview_url(media_file)
        if url is None:
            return "—"
        return format_html(
            '{}<p><a href="{}" download>Download {}</a></p>',
            _media_element(media_file, small=False),
            url,
            media_file.filename,
        )

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Staff add files with the uploader (they become the owner), not with a blank form."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Upload files",
            "uploader_config": {**client_config(), "csrfToken": get_token(request)},
        }
        return render(request, "admin/uploads/mediafile/add_uploader.html", context)

    @admin.action(description="Re-verify selected uploads against the bucket")
    def reverify_selected(self, request: HttpRequest, queryset: QuerySet[MediaFile]) -> None:
        """Check each selected record's object again and report what was found."""
        for media_file in queryset:
            try:
                outcome = services.reverify(media_file=media_file)
            except storage.StorageError as error:
                self.message_user(
                    request, f"{media_file.filename}: storage error ({error})", messages.ERROR
                )
                continue
            level = messages.INFO if outcome.ok else messages.WARNING
            self.message_user(request, f"{media_file.filename}: {outcome.message}", level)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Django's confirm-then-delete page; a refusal (in use, busy) says why on the record."""
        try:
            return super().delete_view(request, object_id, extra_context)
        except UploadConflict as refused:
            self.message_user(request, refused.detail, messages.ERROR)
            return redirect("admin:uploads_mediafile_change", object_id)

    def delete_model(self, request: HttpRequest, obj: MediaFile) -> None:
        """Delete the record, then its objects in the bucket (refused while in use)."""
        services.delete_media_file(media_file=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[MediaFile]) -> None:
        """Delete each selected record and its objects; name the ones that had to stay."""
        kept = []
        for media_file in queryset:
            try:
                services.delete_media_file(media_file=media_file)
            except UploadConflict as refused:
                kept.append(f"{media_file.filename} ({refused.detail})")
        if kept:
            self.message_user(request, f"Not deleted: {'; '.join(kept)}", messages.WARNING)
