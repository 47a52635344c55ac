from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from consent.identity.forms import CodeForm

# The words a person types to erase their account, in the page's language (English always
# accepted too).
ERASE_WORDS = _("erase my account")
_ENGLISH_WORDS = "erase my account"


def _typed(value: str) -> str:
    return " ".join(value.split()).casefold()


class EraseForm(CodeForm):
    """The fresh code sent for this erasure, and the typed words (a confirmation the person
    writes, so no tap or double tap erases an account)."""

    confirm = forms.CharField(
        label=_("Type the words shown to confirm"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_confirm(self) -> str:
        typed = _typed(self.cleaned_data["confirm"])
        if typed not in {_typed(str(ERASE_WORDS)), _ENGLISH_WORDS}:
            raise forms.ValidationError(
                gettext("Type “%(words)s” to confirm.") % {"words": ERASE_WORDS}
            )
        return typed
