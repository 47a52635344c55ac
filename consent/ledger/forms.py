from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from consent.identity.services import CODE_LENGTH, PHONE_MAX_LENGTH

# --- the consent centre -------------------------------------------------------------------------

_SHA256 = RegexValidator(r"^[0-9a-f]{64}\Z", _("This is not a text fingerprint we published."))


class PolicyQuoteForm(forms.Form):
    """Hidden fields of a grant button: which purpose, version and text were on the page."""

    purpose = forms.CharField(max_length=64, widget=forms.HiddenInput)
    version = forms.IntegerField(min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput)
    sha256 = forms.CharField(
        min_length=64, max_length=64, validators=[_SHA256], widget=forms.HiddenInput
    )


class PurposeForm(forms.Form):
    purpose = forms.CharField(max_length=64, widget=forms.HiddenInput)


class GuardianPhoneForm(PurposeForm):
    phone = forms.CharField(
        label=_("Parent's or guardian's mobile number"),
        max_length=PHONE_MAX_LENGTH,
        help_text=_("Their own number, in international format. We text them a code."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )


class GuardianCodeForm(PolicyQuoteForm):
    code = forms.CharField(
        label=_("Code"),
        min_length=CODE_LENGTH,
        max_length=CODE_LENGTH,
        help_text=_("The 6 digits from the text message sent to the parent or guardian."),
        validators=[RegexValidator(r"^[0-9]{6}\Z", _("The code is 6 digits."))],
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]{6}"}
        ),
    )
