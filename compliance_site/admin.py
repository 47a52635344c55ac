from django.db import transaction
from django_otp.admin import OTPAdminSite


class FaceledgerAdminSite(OTPAdminSite):
    site_header = "Faceledger staff"
    site_title = "Faceledger staff"
    index_title = "Administration"

    # Every sign-in and sign-out is audited in the transaction that records it (DESIGN
    # invariant 2). A POST that ends authenticated with a redirect is a completed login.
    def login(self, request, extra_context=None):
        from consent.services import staff_login_record

        with transaction.atomic():
            response = super().login(request, extra_context)
            signed_in = request.method == "POST" and response.status_code == 302
            if signed_in and request.user.is_authenticated:
                staff_login_record(user=request.user)
        return response

    def logout(self, request, extra_context=None):
        from consent.services import staff_logout_record

        user = request.user if request.user.is_authenticated else None
        with transaction.atomic():
            response = super().logout(request, extra_context)
            if user is not None and not request.user.is_authenticated:
                staff_logout_record(user=user)
        return response
