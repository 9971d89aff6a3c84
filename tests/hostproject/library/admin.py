"""The team's admin: the upload field gets the app's widget by itself."""

from django.contrib import admin

from library.models import Episode

admin.site.register(Episode)
