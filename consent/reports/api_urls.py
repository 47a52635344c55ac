from django.urls import path

from consent.reports import apis

urlpatterns = [
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
