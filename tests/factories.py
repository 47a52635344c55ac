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
