from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from consent.identity.services import CODE_LENGTH, PHONE_MAX_LENGTH


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=PHONE_MAX_LENGTH,
        help_text=_("In international format, starting with + and the country code."),
        widget=forms.TextInput(
            attrs={"autocomplete": "tel", "inputmode": "tel", "placeholder": "+44 7400 123456"}
        ),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        min_length=CODE_LENGTH,
        max_length=CODE_LENGTH,
        help_text=_("The 6 digits from the text message we sent you."),
        validators=[RegexValidator(r"^[0-9]{6}\Z", _("The code is 6 digits."))],
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9]{6}",
            }
        ),
    )
