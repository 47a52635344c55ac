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
