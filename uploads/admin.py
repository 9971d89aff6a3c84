"""Admin for MediaFile records: browse, search, re-verify, and delete together with the object."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat

from uploads import services, storage
from uploads.models import MediaFile


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


@admin.register(MediaFile)
class MediaFileAdmin(admin.ModelAdmin[MediaFile]):
    """Staff view of every upload; records are created through the API only."""

    list_display = [
        "filename",
        "owner",
        "status",
        "human_size",
        "progress",
        "content_type",
        "created_at",
    ]
    list_filter = ["status", KindFilter, "created_at"]
    search_fields = ["filename", "key", "owner__username", "owner__email"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    readonly_fields = [
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
    ]
    fields = ["filename", *readonly_fields]
    actions = ["reverify_selected"]

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

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Records come from uploads, never from a blank admin form."""
        return False

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

    def delete_model(self, request: HttpRequest, obj: MediaFile) -> None:
        """Delete the object in the bucket together with the record."""
        services.delete_media_file(media_file=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[MediaFile]) -> None:
        """Delete each selected record's object, then the record."""
        for media_file in queryset:
            services.delete_media_file(media_file=media_file)
