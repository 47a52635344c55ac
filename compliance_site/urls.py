from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/v1/", include("audit.api_urls")),
    path("api/v1/", include("consent.api_urls")),
    path("api/v1/", include("biometrics.api_urls")),
    path("", include("consent.urls")),
    path("", include("biometrics.urls")),
]
