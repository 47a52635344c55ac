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


class EphemeralSwapForm(forms.Form):
    """The no-JavaScript swap without enrolment: a picture template, a photo and a video
    recorded with the phone's camera app (the template radio buttons are drawn by the page)."""

    challenge = forms.CharField(max_length=64, widget=forms.HiddenInput)
    template = forms.CharField(max_length=64, error_messages={"required": _("Choose a template.")})
    photo = forms.FileField(
        label=_("A photo of your face"),
        help_text=_("JPEG, PNG or WebP, at most 10 MB. Only your face, looking at the camera."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "user"}),
    )
    video = forms.FileField(
        label=_("A video of you doing the movements above"),
        help_text=_("WebM or MP4, 1 to 10 seconds, at most 20 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": "video/*", "capture": "user"}),
    )


class ShareLinkForm(forms.Form):
    """A share link's terms: how long it lasts (24 hours unless chosen; at most 7 days) and an
    optional view limit."""

    hours = forms.TypedChoiceField(
        label=_("Link lasts"),
        coerce=int,
        initial=24,
        choices=[
            (1, _("1 hour")),
            (24, _("24 hours")),
            (72, _("3 days")),
            (168, _("7 days")),
        ],
    )
    max_views = forms.IntegerField(
        label=_("View limit (optional)"),
        required=False,
        min_value=1,
        max_value=1000,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
