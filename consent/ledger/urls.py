from django.urls import path

from consent.ledger import views

urlpatterns = [
    path("consent/", views.consent_centre_view, name="centre"),
    path("consent/grant/", views.consent_grant_view, name="grant"),
    path("consent/withdraw/", views.consent_withdraw_view, name="withdraw"),
    path("consent/age/", views.age_view, name="age"),
    path("consent/under-14/", views.minor_declaration_view, name="minor_declaration"),
    path("consent/guardian/request/", views.guardian_request_view, name="guardian_request"),
    path("consent/guardian/", views.guardian_grant_view, name="guardian"),
    path("consent/receipts/<uuid:receipt_id>/", views.receipt_view, name="receipt"),
    path("consent/receipts/<uuid:receipt_id>.json", views.receipt_json_view, name="receipt_json"),
    path("consent/receipts/<uuid:receipt_id>.pdf", views.receipt_pdf_view, name="receipt_pdf"),
    path(
        "consent/receipts/<uuid:receipt_id>.27560.json",
        views.record_27560_view,
        name="record_27560",
    ),
    path("privacy/", views.privacy_view, name="privacy"),
]
