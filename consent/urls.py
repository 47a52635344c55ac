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
]
