from django.urls import path

from consent import apis

urlpatterns = [
    path("auth/otp/request", apis.OtpRequestApi.as_view(), name="api-otp-request"),
    path("auth/otp/verify", apis.OtpVerifyApi.as_view(), name="api-otp-verify"),
    path("auth/logout", apis.LogoutApi.as_view(), name="api-logout"),
    path("purposes", apis.PurposeListApi.as_view(), name="api-purposes"),
    path("consents", apis.ConsentListApi.as_view(), name="api-consents"),
    path(
        "consents/receipts/<uuid:receipt_id>.pdf",
        apis.ReceiptPdfApi.as_view(),
        name="api-consent-receipt-pdf",
    ),
    path(
        "consents/receipts/<uuid:receipt_id>",
        apis.ReceiptApi.as_view(),
        name="api-consent-receipt",
    ),
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
    path("consents/<str:purpose>", apis.ConsentWithdrawApi.as_view(), name="api-consent-withdraw"),
    path("me/erasure", apis.ErasureApi.as_view(), name="api-erasure"),
    path("me/erasure/<str:token>", apis.ErasureStatusApi.as_view(), name="api-erasure-status"),
    path(
        "me/erasure/<str:token>/certificate.pdf",
        apis.ErasureCertificatePdfApi.as_view(),
        name="api-erasure-certificate-pdf",
    ),
    path("me/report.pdf", apis.ReportApi.as_view(), name="api-report"),
    path("me/report/<uuid:job_id>", apis.ReportJobApi.as_view(), name="api-report-job"),
    path(
        "me/report/<uuid:job_id>/download",
        apis.ReportDownloadApi.as_view(),
        name="api-report-download",
    ),
    path("me/export.json", apis.ExportJsonApi.as_view(), name="api-export-json"),
    path("me/export.zip", apis.ExportZipApi.as_view(), name="api-export-zip"),
    path("me/export.schema.json", apis.ExportSchemaApi.as_view(), name="api-export-schema"),
]
