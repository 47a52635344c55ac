from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("auditor/", views.auditor_view, name="auditor"),
    path("transparency/", views.transparency_view, name="transparency"),
    path("transparency/verify_audit.py", views.verifier_view, name="verifier"),
]
