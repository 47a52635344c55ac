"""Demo templates for ``manage.py seed_demo`` (development only, DEBUG on).

Both come from the public-domain NASA portrait of astronaut Eileen Collins that scikit-image
ships (``skimage.data.astronaut()``; works of NASA are not subject to copyright in the United
States): the still itself, and a short clip made from it by a slow pan and zoom (the face in
every frame, as a template clip needs). The licence record says so. No signed consent of the person
depicted is held: the demo records a placeholder document that says exactly that, with a
scope limited to a development machine, so that the demo shows how a template is gated
without pretending to a consent that does not exist. A deployment adds real templates.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from datetime import timedelta

import cv2
import numpy as np
from django.utils import timezone

from swap.engines.video import encode_mp4
from swap.models import SwapTemplate
from swap.selectors import template_refusal
from swap.services import (
    DepictedConsentTerms,
    LicenceTerms,
    check_template_file,
    swap_template_add,
    swap_template_consent_record,
)

STILL_TITLE = "Astronaut portrait (demo)"
CLIP_TITLE = "Astronaut pan and zoom (demo clip)"
LICENCE = LicenceTerms(
    source=(
        "scikit-image sample data, skimage.data.astronaut(): NASA portrait of astronaut "
        "Eileen Collins (NASA image S94-34011)"
    ),
    terms=(
        "Public domain: a work of NASA, not subject to copyright in the United States. The "
        "clip is derived from it by a slow pan and zoom."
    ),
    expires_at=None,
)
PLACEHOLDER_DAYS = 90
# The clip: 4 s at 15 fps, 480x360, zooming in 1.25x towards the face (which, in the 512x512
# portrait, sits around (180..270, 80..170): inside every window below).
CLIP_FPS, CLIP_FRAMES, CLIP_SIZE = 15, 60, (480, 360)
CLIP_ZOOM, CLIP_FROM, CLIP_TO = 1.25, (256.0, 192.0), (236.0, 160.0)


def seed_demo(stdout) -> None:
    """Make sure both demo templates exist and are usable; say what was done."""
    makers = {STILL_TITLE: _still_bytes, CLIP_TITLE: _clip_bytes}
    for title, make in makers.items():
        template = SwapTemplate.objects.filter(title=title).first()
        if template is None:
            swap_template_add(
                title=title,
                media=check_template_file(make()),
                licence=LICENCE,
                consent=_placeholder_consent(),
                actor=None,
            )
            stdout.write(f"Demo template added: {title}")
        elif template_refusal(template, timezone.now()) is not None:
            swap_template_consent_record(
                template=template, consent=_placeholder_consent(), actor=None
            )
            stdout.write(f"Demo template renewed: {title}")
        else:
            stdout.write(f"Demo template kept: {title}")


def _astronaut_bgr() -> np.ndarray:
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def _still_bytes() -> bytes:
    ok, png = cv2.imencode(".png", _astronaut_bgr())
    assert ok
    return png.tobytes()


def _clip_bytes() -> bytes:
    return encode_mp4(_pan_and_zoom(_astronaut_bgr()), fps=CLIP_FPS)


def _pan_and_zoom(still: np.ndarray) -> Iterator[np.ndarray]:
    """The still seen through a 4:3 window that eases from the whole width to the face."""
    width, height = CLIP_SIZE
    for index in range(CLIP_FRAMES):
        ease = (1 - math.cos(math.pi * index / (CLIP_FRAMES - 1))) / 2
        scale = width / (still.shape[1] / (1 + (CLIP_ZOOM - 1) * ease))
        centre = [a + (b - a) * ease for a, b in zip(CLIP_FROM, CLIP_TO, strict=True)]
        shift = [width / 2 - scale * centre[0], height / 2 - scale * centre[1]]
        matrix = np.array([[scale, 0, shift[0]], [0, scale, shift[1]]], np.float64)
        yield cv2.warpAffine(still, matrix, CLIP_SIZE, flags=cv2.INTER_LINEAR)


def _placeholder_consent() -> DepictedConsentTerms:
    return DepictedConsentTerms(
        person="Eileen Collins (as pictured in NASA image S94-34011) - demo placeholder",
        document=_placeholder_pdf(),
        scope=(
            "DEMO PLACEHOLDER: no signed consent of the person depicted is held. Recorded by "
            "seed_demo on a development machine only, so the demo can show the template gate; "
            "never deploy this record. Sharing by link is allowed so the demo can show it."
        ),
        expires_at=timezone.now() + timedelta(days=PLACEHOLDER_DAYS),
        sharing_allowed=True,
    )


def _placeholder_pdf() -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    lines = (
        "Faceledger - demo placeholder, not a consent",
        "",
        "No signed consent of the person depicted in the demo templates is held.",
        "This file exists so that the development demo can show how a template's",
        "depicted-person consent is recorded and checked. Never deploy it.",
    )
    y = 780
    for line in lines:
        page.drawString(72, y, line)
        y -= 18
    page.showPage()
    page.save()
    return buffer.getvalue()
