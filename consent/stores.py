"""Consent's stores of personal data, for ``ConsentConfig.ready()``: each sub-domain declares
its own next to its data (``consent/<sub-domain>/stores.py``); this hands them all to the
inventory, which orders erasure by band (the contract: ``compliance_site.inventory``)."""

from __future__ import annotations

from consent.erasure import stores as erasure
from consent.identity import stores as identity
from consent.ledger import stores as ledger
from consent.reports import stores as reports

STORES = identity.STORES + ledger.STORES + erasure.STORES + reports.STORES
