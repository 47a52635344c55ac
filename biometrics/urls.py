from django.urls import path

from biometrics import views

app_name = "biometrics"

urlpatterns = [
    path("capture/", views.capture_view, name="capture"),
    path("captures/", views.captures_view, name="captures"),
    path("captures/<str:capture_id>/delete/", views.capture_delete_view, name="capture_delete"),
    path("retention/", views.retention_view, name="retention"),
]
