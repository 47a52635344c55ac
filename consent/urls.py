from django.urls import path

from consent import views

app_name = "consent"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/verify/", views.login_verify_view, name="login_verify"),
    path("dashboard/", views.dashboard_view, name="dashboard"),
    path("logout/", views.logout_view, name="logout"),
    path("consent/", views.consent_centre_view, name="centre"),
    path("consent/grant/", views.consent_grant_view, name="grant"),
    path("consent/withdraw/", views.consent_withdraw_view, name="withdraw"),
    path("consent/under-14/", views.minor_declaration_view, name="minor_declaration"),
    path("consent/guardian/request/", views.guardian_request_view, name="guardian_request"),
    path("consent/guardian/", views.guardian_grant_view, name="guardian"),
    path("consent/receipts/<uuid:receipt_id>/", views.receipt_view, name="receipt"),
    path("consent/receipts/<uuid:receipt_id>.json", views.receipt_json_view, name="receipt_json"),
    path("consent/receipts/<uuid:receipt_id>.pdf", views.receipt_pdf_view, name="receipt_pdf"),
    path("privacy/", views.privacy_view, name="privacy"),
    path("account/delete/", views.account_delete_view, name="account_delete"),
    path("account/delete/status/", views.account_delete_status_view, name="account_delete_status"),
    path(
        "account/delete/certificate.json",
        views.account_delete_certificate_view,
        name="account_delete_certificate",
    ),
    path(
        "account/delete/certificate.pdf",
        views.account_delete_certificate_pdf_view,
        name="account_delete_certificate_pdf",
    ),
    path("account/report.pdf", views.report_view, name="report"),
    path("account/report/<uuid:job_id>/", views.report_status_view, name="report_status"),
    path(
        "account/report/<uuid:job_id>/report.pdf",
        views.report_download_view,
        name="report_download",
    ),
    path("account/export.json", views.export_json_view, name="export_json"),
    path("account/export.zip", views.export_zip_view, name="export_zip"),
]
