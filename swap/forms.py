from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class SwapRequestForm(forms.Form):
    """The portal's request: which capture, which template (radio buttons drawn by the page,
    with the templates' posters)."""

    capture = forms.CharField(
        max_length=64, error_messages={"required": _("Choose one of your captures.")}
    )
    template = forms.CharField(max_length=64, error_messages={"required": _("Choose a template.")})


class DepictedWithdrawalForm(forms.Form):
    """The depicted person's withdrawal: the secret they were handed, and that they understand
    what it does."""

    secret = forms.CharField(
        label=_("Withdrawal secret"),
        max_length=120,
        help_text=_("As printed on your consent record: 28 letters and digits in groups of four."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    confirm = forms.BooleanField(
        label=_("I understand: this cannot be undone."),
        error_messages={"required": _("Tick the box to confirm the withdrawal.")},
    )


class MarkCheckForm(forms.Form):
    """The public "was this made here?" check: one image or clip."""

    file = forms.FileField(
        label=_("An image or a clip"),
        help_text=_("JPEG, PNG or WebP, or an MP4 or WebM clip; at most 50 MB."),
        error_messages={"required": _("Choose a file to check.")},
    )
