"""The API's consent endpoints, from the four sub-domains' lists."""

from consent.erasure.api_urls import urlpatterns as erasure_urls
from consent.identity.api_urls import urlpatterns as identity_urls
from consent.ledger.api_urls import urlpatterns as ledger_urls
from consent.reports.api_urls import urlpatterns as reports_urls

urlpatterns = identity_urls + ledger_urls + erasure_urls + reports_urls
