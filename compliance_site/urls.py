from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

import compliance_site.openapi  # noqa: F401 - registers the token scheme with drf-spectacular
from compliance_site.health import HealthApi

# Unmatched API addresses answer in JSON, like every other API error.
handler404 = "compliance_site.api.not_found"
handler400 = "compliance_site.http.bad_request"

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    # The site's root is the account page (which sends visitors who are not signed in to /login/).
    path("", RedirectView.as_view(pattern_name="consent:dashboard"), name="home"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/health", HealthApi.as_view(), name="api-health"),
    path("api/v1/", include("audit.api_urls")),
    path("api/v1/", include("consent.api_urls")),
    path("api/v1/", include("biometrics.api_urls")),
    path("api/v1/", include("swap.api_urls")),
    # The language switch on every page posts here (with its CSRF token).
    path("i18n/setlang/", set_language, name="set_language"),
    path("", include("consent.urls")),
    path("", include("audit.urls")),
    path("", include("biometrics.urls")),
    path("", include("swap.urls")),
]
