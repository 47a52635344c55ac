"""Django registers an app's models from ``<app>.models``: the sub-domains' models, under the
one app label ``consent`` (their tables and migrations are the app's)."""

from consent.erasure.models import ErasureRequest
from consent.identity.models import (
    CODE_FIELDS,
    ApiToken,
    CodeAttempts,
    SendWindow,
    SessionNumber,
    SmsDevice,
    User,
    UserManager,
)
from consent.ledger.models import (
    LANGUAGE_CHOICES,
    AgeStatement,
    ConsentRecord,
    MinorDeclaration,
    PolicyText,
    PolicyVersion,
    Purpose,
)
from consent.reports.models import ReportJob

__all__ = [
    "CODE_FIELDS",
    "LANGUAGE_CHOICES",
    "AgeStatement",
    "ApiToken",
    "CodeAttempts",
    "ConsentRecord",
    "ErasureRequest",
    "MinorDeclaration",
    "PolicyText",
    "PolicyVersion",
    "Purpose",
    "ReportJob",
    "SendWindow",
    "SessionNumber",
    "SmsDevice",
    "User",
    "UserManager",
]
