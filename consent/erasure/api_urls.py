from django.urls import path

from consent.erasure import apis

urlpatterns = [
    path("me/erasure", apis.ErasureApi.as_view(), name="api-erasure"),
    path("me/erasure/<str:token>", apis.ErasureStatusApi.as_view(), name="api-erasure-status"),
    path(
        "me/erasure/<str:token>/certificate.pdf",
        apis.ErasureCertificatePdfApi.as_view(),
        name="api-erasure-certificate-pdf",
    ),
]
