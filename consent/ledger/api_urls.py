from django.urls import path

from consent.ledger import apis

urlpatterns = [
    path("purposes", apis.PurposeListApi.as_view(), name="api-purposes"),
    path("consents", apis.ConsentListApi.as_view(), name="api-consents"),
    path(
        "consents/receipts/<uuid:receipt_id>.pdf",
        apis.ReceiptPdfApi.as_view(),
        name="api-consent-receipt-pdf",
    ),
    path(
        "consents/receipts/<uuid:receipt_id>/iso27560",
        apis.Record27560Api.as_view(),
        name="api-consent-record-27560",
    ),
    path(
        "consents/receipts/<uuid:receipt_id>",
        apis.ReceiptApi.as_view(),
        name="api-consent-receipt",
    ),
    path("consents/age", apis.AgeApi.as_view(), name="api-consent-age"),
    path(
        "consents/minor-declaration",
        apis.MinorDeclarationApi.as_view(),
        name="api-consent-minor-declaration",
    ),
    path(
        "consents/guardian/request",
        apis.GuardianRequestApi.as_view(),
        name="api-consent-guardian-request",
    ),
    path(
        "consents/guardian/grant",
        apis.GuardianGrantApi.as_view(),
        name="api-consent-guardian-grant",
    ),
    path(
        "consents/<str:purpose>/withdrawal",
        apis.ConsentWithdrawalPreviewApi.as_view(),
        name="api-consent-withdrawal-preview",
    ),
    path("consents/<str:purpose>", apis.ConsentWithdrawApi.as_view(), name="api-consent-withdraw"),
]
