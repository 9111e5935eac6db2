from django.conf import settings
from django.contrib import admin
from django.urls import include, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import APIRootView

from accounts.api import MeView
from core.views import favicon, healthz, healthz_scheduler
from proposals.views.media import media_file

# The API's index (/api/v1/): its collections that need no parameter, the OpenAPI schema and its docs
# page — JSON for programs, DRF's browsable page for a browser. Every other endpoint is in the schema.
API_INDEX = {
    "cycles": "cycle-list",
    "phases": "phase-list",
    "me": "api-me",
    "receipt-check": "receipt-check",
    "schema": "api-schema",
    "docs": "api-docs",
}


class ApiIndexView(APIRootView):
    """The participatory budgeting platform's API, version 1: its cycles, phases, ideas, projects,
    ballots and results. Every endpoint is described in the API documentation."""

    def get_view_name(self):
        return gettext("pbplatform API, version 1")

    def get_view_description(self, html=False):
        """Ours, not DRF's "The default basic root view for DefaultRouter"; a link to the docs page."""
        text = gettext(
            "The participatory budgeting platform's API, version 1: its cycles, phases, ideas, projects, "
            "ballots and results. Every endpoint is described in the API documentation."
        )
        if not html:
            return text
        return format_html(
            '<p>{} <a href="{}">{}</a></p>', text, reverse("api-docs"), gettext("Read the API documentation.")
        )


api_v1 = [
    path("", ApiIndexView.as_view(api_root_dict=API_INDEX), name="api-root"),
    path("me/", MeView.as_view(), name="api-me"),
    path("", include("budgets.api_urls")),
    path("", include("allocation.api_urls")),
    path("", include("proposals.api_urls")),
    path("", include("voting.api_urls")),
    path("", include("audit.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as its own request (?script): no inline script.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("healthz/scheduler", healthz_scheduler, name="healthz_scheduler"),
    # Browsers ask for /favicon.ico whatever the page links to.
    path("favicon.ico", favicon, name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("accounts.urls")),  # before allauth: our own account pages
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("", include("budgets.urls")),
    path("", include("allocation.urls")),
    path("", include("proposals.urls")),
    path("", include("voting.urls")),
    path("", include("audit.urls")),
]
# Uploaded files, in every environment: through a view that checks who may see the idea, project or
# update a file belongs to. No web server serves MEDIA_ROOT directly (docs/deployment.md).
urlpatterns.append(path(f"{settings.MEDIA_URL.strip('/')}/<path:name>", media_file, name="media_file"))

# The API answers its errors as problems (RFC 7807); the pages keep Django's, and a database outage
# is a 503 with Retry-After for both.
handler400 = "core.views.bad_request"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
