"""The demo's admin: a show with its episodes inline, every upload field a direct-upload widget."""

from django.contrib import admin

from mediaupload.demo.models import Episode, Show


class EpisodeInline(admin.StackedInline):  # type: ignore[type-arg]
    """Episodes edited on their show's page."""

    model = Episode
    extra = 0


@admin.register(Show)
class ShowAdmin(admin.ModelAdmin[Show]):
    """Shows, with their episodes."""

    inlines = [EpisodeInline]


@admin.register(Episode)
class EpisodeAdmin(admin.ModelAdmin[Episode]):
    """Episodes on their own."""

    list_display = ["title", "show"]
