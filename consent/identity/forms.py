from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from consent.identity.selectors import phone_region_choices, phone_region_for_language
from consent.identity.services import CODE_LENGTH, PHONE_MAX_LENGTH


def _region_choices() -> list[tuple[str, str]]:
    return phone_region_choices(get_language() or "en")


class RegionMixin(forms.Form):
    """The country whose national format a number may be typed in (the page language's
    country unless chosen; a number with + and its country code ignores it)."""

    region = forms.ChoiceField(
        label=_("Country code"),
        choices=_region_choices,
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].initial = phone_region_for_language(get_language())

    def clean_region(self) -> str:
        return self.cleaned_data["region"] or phone_region_for_language(get_language())


class PhoneForm(RegionMixin, forms.Form):
    """The number, and the country whose national format it may be typed in."""

    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=PHONE_MAX_LENGTH,
        help_text=_("As you dial it at home, or with + and the country code."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
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
