"""The demo's admin: a show with its episodes inline, every upload field a direct-upload widget,
and small previews of the files in the lists (uploads.admin.media_preview)."""

from django.contrib import admin

from mediaupload.demo.models import Episode, Show
from uploads.admin import media_preview

# The previews' sizes (no inline styles: the Content-Security-Policy forbids them).
PREVIEW_CSS = {"all": ["uploads/admin.css"]}


class EpisodeInline(admin.StackedInline):  # type: ignore[type-arg]
    """Episodes edited on their show's page."""

    model = Episode
    extra = 0


@admin.register(Show)
class ShowAdmin(admin.ModelAdmin[Show]):
    """Shows, with their episodes."""

    inlines = [EpisodeInline]
    list_display = ["title", media_preview("poster")]
    list_select_related = ["poster"]

    class Media:
        css = PREVIEW_CSS


@admin.register(Episode)
class EpisodeAdmin(admin.ModelAdmin[Episode]):
    """Episodes on their own."""

    list_display = ["title", "show", media_preview("video")]
    list_select_related = ["show", "video"]

    class Media:
        css = PREVIEW_CSS
