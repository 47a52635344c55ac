from django.urls import path

from consent.reports import views

urlpatterns = [
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
