"""What Chromium's fake camera plays on the capture page: the synthetic astronaut doing the
challenge's steps, each when its prompt shows (``biometrics/static/biometrics/capture.js``).

The steps are random per challenge, so the test reads them (with their windows) from the page,
as a person reads the prompts, writes this file, and only then presses Start: Chromium opens
the file when the page opens the camera, not at launch.
"""

from __future__ import annotations

from pathlib import Path

from tests.biometrics import synth

FPS = 15
SIZE = (320, 240)
# capture.js: a 3 s countdown and the photo before the recording starts. The face then moves
# ``synth.REACTION`` seconds after each prompt, a normal reaction time.
BEFORE_RECORDING = 3.0
AFTER = 3.0


def write_camera_clip(path: Path, steps: list[dict]) -> Path:
    """A .y4m of the face still until recording starts, then each step after its prompt."""
    rig = synth.FaceRig(synth.astronaut_bgr(), SIZE)
    before = [{}] * round(BEFORE_RECORDING * FPS)
    poses = before + synth.timeline(steps, FPS) + [{}] * round(AFTER * FPS)
    shifts = synth.jitter(len(poses), 1.0)
    frames = (rig.pose(shift=shift, **pose) for pose, shift in zip(poses, shifts, strict=True))
    partial = path.with_suffix(".partial")
    synth.write_y4m(frames, partial, fps=FPS)
    return partial.replace(path)
