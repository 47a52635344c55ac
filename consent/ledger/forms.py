from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from consent.identity.forms import RegionMixin
from consent.identity.services import CODE_LENGTH, PHONE_MAX_LENGTH
from consent.ledger.models import GuardianRelationship

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


class AgeForm(forms.Form):
    """The age step: a year of birth and nothing more (checked by ``check_birth_year``)."""

    year_of_birth = forms.CharField(
        label=_("Year of birth"),
        max_length=4,
        help_text=_("4 digits. We ask only for the year, and keep it only for children under 14."),
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "bday-year", "pattern": "[0-9]{4}"}
        ),
    )


class GuardianPhoneForm(RegionMixin, forms.Form):
    """A child's request to a parent or guardian: their number (national format read in the
    chosen country) and the purposes (one or more, posted as repeated ``purpose`` fields) that
    ONE code will grant."""

    purpose = forms.MultipleChoiceField(choices=(), widget=forms.CheckboxSelectMultiple)
    phone = forms.CharField(
        label=_("Parent's or guardian's mobile number"),
        max_length=PHONE_MAX_LENGTH,
        help_text=_("Their own number. We text them a code."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )

    def __init__(self, *args, purposes: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["purpose"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(code, code) for code in purposes]


class GuardianCodeForm(forms.Form):
    """The parent's or guardian's step: who they are to the child, and the one code. The
    texts they consent to are quoted by repeated ``purpose``/``version``/``sha256`` fields,
    one ``PolicyQuoteForm`` each."""

    relationship = forms.ChoiceField(
        label=_("You are the child's"),
        choices=GuardianRelationship.choices,
        widget=forms.RadioSelect,
    )
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
