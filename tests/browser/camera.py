"""What Chromium's fake camera plays on the capture page: the synthetic astronaut doing the
challenge's steps, timed like the page's prompts (``biometrics/static/biometrics/capture.js``).

The steps are random per challenge, so the test reads them from the page, as a person does,
writes this file, and only then presses Start: Chromium opens the file when the page opens
the camera, not at launch.
"""

from __future__ import annotations

from pathlib import Path

from tests.biometrics import synth

FPS = 15
SIZE = (320, 240)
# capture.js: a 3 s countdown before the photo, 1 s of looking at the camera once recording,
# 2.6 s for each step, 0.8 s at the end. Each movement starts with its prompt.
BEFORE_FIRST_STEP = 3.0 + 1.0
STEP_SECONDS = 2.6
AFTER = 2.5


def write_camera_clip(path: Path, steps: list[str]) -> Path:
    """A .y4m of the face still until the first prompt, then each step in its prompt's slot."""
    rig = synth.FaceRig(synth.astronaut_bgr(), SIZE)
    poses = [(0.0, 0.0)] * round(BEFORE_FIRST_STEP * FPS)
    for step in steps:
        poses += synth.timeline([step], FPS, STEP_SECONDS)
    poses += [(0.0, 0.0)] * round(AFTER * FPS)
    shifts = synth.jitter(len(poses), 1.0)
    frames = (
        rig.pose(yaw, blink, shift) for (yaw, blink), shift in zip(poses, shifts, strict=True)
    )
    partial = path.with_suffix(".partial")
    synth.write_y4m(frames, partial, fps=FPS)
    return partial.replace(path)
