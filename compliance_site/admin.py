from django_otp.admin import OTPAdminSite


class FaceledgerAdminSite(OTPAdminSite):
    site_header = "Faceledger staff"
    site_title = "Faceledger staff"
    index_title = "Administration"
