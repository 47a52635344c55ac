"""The portal's pages, one ``consent`` namespace over the four sub-domains' lists."""

from consent.erasure.urls import urlpatterns as erasure_urls
from consent.identity.urls import urlpatterns as identity_urls
from consent.ledger.urls import urlpatterns as ledger_urls
from consent.reports.urls import urlpatterns as reports_urls

app_name = "consent"

urlpatterns = identity_urls + ledger_urls + erasure_urls + reports_urls
