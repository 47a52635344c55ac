from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class CaptureForm(forms.Form):
    """The no-JavaScript capture: a photo and a video recorded with the phone's camera app."""

    challenge = forms.CharField(max_length=64, widget=forms.HiddenInput)
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
