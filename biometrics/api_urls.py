from django.urls import path

from biometrics import apis

urlpatterns = [
    path("liveness/challenge", apis.LivenessChallengeApi.as_view(), name="api-liveness-challenge"),
    path("captures", apis.CaptureListApi.as_view(), name="api-captures"),
    path("captures/<str:capture_id>", apis.CaptureDetailApi.as_view(), name="api-capture"),
]
