"""factory_boy factories, one per model, shared by every app's tests."""

from __future__ import annotations

import factory
from django_otp.plugins.otp_totp.models import TOTPDevice
from factory.django import DjangoModelFactory

STAFF_PASSWORD = "staff-password-for-tests-only"


class UserFactory(DjangoModelFactory):
    """A data subject: no password, as after signing in by SMS.

    Numbers come from valid UK mobile ranges (they pass ``check_phone``) that the named
    fixtures (``alice``, ``bob``, ``staff``) do not use.
    """

    class Meta:
        model = "consent.User"
        skip_postgeneration_save = True

    phone_number = factory.Sequence(lambda n: f"+4474002{n % 100000:05d}")
    password = factory.django.Password(None)

    @factory.post_generation
    def age_stated(obj, create, extracted, **kwargs):
        """14 or over by default, as after the consent centre's age step; pass
        ``age_stated=False`` for someone who has not answered it yet."""
        if create and extracted is not False:
            from django.utils import timezone

            from consent.ledger.models import AgeStatement

            AgeStatement.objects.create(subject=obj, stated_on=timezone.localdate())


class StaffFactory(UserFactory):
    """A staff member with a password and a confirmed TOTP device (``user.totp_device``);
    ``StaffFactory(totp_device=False)`` makes one without any second factor."""

    phone_number = factory.Sequence(lambda n: f"+4479111{n % 100000:05d}")
    is_staff = True
    password = factory.django.Password(STAFF_PASSWORD)

    @factory.post_generation
    def totp_device(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            obj.totp_device = TOTPDevice.objects.create(user=obj, name="default", confirmed=True)


def admin_signed_in(user):
    """A Django test client past the real admin login of ``user`` (a staff account made by
    ``StaffFactory``): password and a code from their TOTP device."""
    from django.test import Client
    from django.urls import reverse
    from django_otp.oath import totp

    device = user.totp_device
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    client = Client()
    response = client.post(
        reverse("admin:login"),
        {
            "username": str(user.phone_number),
            "password": STAFF_PASSWORD,
            "otp_device": device.persistent_id,
            "otp_token": f"{code:0{device.digits}d}",
            "next": reverse("admin:index"),
        },
    )
    assert response.status_code == 302
    return client
