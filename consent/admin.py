"""The admin's autodiscovery imports ``<app>.admin``: this loads each sub-domain's admin."""

from consent.erasure import admin as erasure_admin
from consent.identity import admin as identity_admin
from consent.ledger import admin as ledger_admin
from consent.reports import admin as reports_admin

__all__ = ["erasure_admin", "identity_admin", "ledger_admin", "reports_admin"]
