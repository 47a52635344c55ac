from django.urls import path

from consent.identity import apis

urlpatterns = [
    path("auth/otp/request", apis.OtpRequestApi.as_view(), name="api-otp-request"),
    path("auth/otp/verify", apis.OtpVerifyApi.as_view(), name="api-otp-verify"),
    path("auth/logout", apis.LogoutApi.as_view(), name="api-logout"),
]
