"""Top-level URL routes: the app (pages and API), its API docs, accounts and the admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from mediaupload.signin import AdminSignInForm, SignInForm

admin.site.login_form = AdminSignInForm


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Point browsers' /favicon.ico requests (from every page: ours, the admin's, the API docs')
    to the app's icon, under its current hashed name."""
    return HttpResponseRedirect(static("uploads/favicon.svg"))


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="uploads:uploader", permanent=False)),
    path("", include("uploads.urls")),
    path("", include("uploads.docs_urls")),
    path("favicon.ico", favicon),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=SignInForm),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
