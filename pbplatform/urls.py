from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.api import MeView
from core.views import healthz

api_v1 = [
    path("me/", MeView.as_view(), name="api-me"),
    path("", include("budgets.api_urls")),
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
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("accounts.urls")),  # before allauth: our own account pages
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("", include("budgets.urls")),
    path("", include("proposals.urls")),
    path("", include("voting.urls")),
    path("", include("audit.urls")),
]
# Uploaded photos in development; in production a web server or object storage serves MEDIA_ROOT.
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
