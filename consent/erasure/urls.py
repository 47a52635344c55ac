from django.urls import path

from consent.erasure import views

urlpatterns = [
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
]
