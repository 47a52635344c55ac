"""The liveness check on synthetic clips made from a still portrait (see synth.py).

These clips are warped photos: that they pass is the documented limit of the check, not a
feature. What must fail here fails for the stated reason, with the stated code.
"""

from __future__ import annotations

import itertools
import json

import cv2
import numpy as np
import pytest

from biometrics.analysis.liveness import STEPS, check_liveness, head_yaw
from tests.biometrics import synth

PAIRS = list(itertools.permutations(STEPS, 2))
CODEC_FOR_PAIR = dict(zip(PAIRS, itertools.cycle(["libx264", "vp8", "mp4v"]), strict=False))


@pytest.mark.parametrize("steps", PAIRS, ids="+".join)
def test_every_challenge_passes_when_performed_in_order(clips, astronaut, analyser, steps):
    frames = clips.challenge(steps, codec=CODEC_FOR_PAIR[steps])

    result = check_liveness(frames, astronaut, list(steps), analyser)

    assert result.passed, result
    assert result.code is None
    assert [item["step"] for item in result.steps] == list(steps)
    assert all(item["seen"] for item in result.steps)
    assert result.steps[0]["frame"] < result.steps[1]["frame"]
    assert result.scores["embedding_distance_max"] < analyser.embedding_threshold


@pytest.mark.parametrize("steps", PAIRS, ids="+".join)
def test_every_challenge_fails_when_performed_in_the_other_order(clips, astronaut, analyser, steps):
    frames = clips.challenge(steps, codec=CODEC_FOR_PAIR[steps])

    result = check_liveness(frames, astronaut, list(reversed(steps)), analyser)

    assert not result.passed
    assert result.code == "challenge_failed"
    assert not all(item["seen"] for item in result.steps)


def test_a_challenge_fails_when_a_step_is_missing(clips, astronaut, analyser):
    frames = clips.challenge(["turn_left"])

    result = check_liveness(frames, astronaut, ["turn_left", "blink"], analyser)

    assert result.code == "challenge_failed"
    assert result.steps[0]["seen"] and not result.steps[1]["seen"]
    assert "blink was not seen" in result.detail


def test_blinks_that_were_not_asked_for_are_allowed(clips, astronaut, analyser):
    frames = clips.challenge(["blink", "turn_left", "blink"], seconds=5.0)

    result = check_liveness(frames, astronaut, ["turn_left", "blink"], analyser)

    assert result.passed, result


def test_a_clip_that_makes_every_move_passes_no_challenge(clips, astronaut, analyser):
    # A pre-recorded clip with turns both ways and a blink contains every ordered pair of
    # steps; it must fail because it turns when no turn was asked for.
    moves = ["turn_left", "turn_right", "blink", "turn_left", "turn_right"]
    frames = clips.challenge(moves, seconds=8.0)

    for steps in [("turn_left", "turn_right"), ("blink", "turn_right"), ("turn_right", "blink")]:
        result = check_liveness(frames, astronaut, list(steps), analyser)
        assert result.code == "challenge_failed", steps
        assert "not followed" in result.detail


@pytest.mark.parametrize("codec", ["libx264", "vp8", "mp4v"])
def test_a_replayed_still_photo_fails_with_no_motion(clips, astronaut, analyser, codec):
    frames = clips.replay(codec=codec)

    result = check_liveness(frames, astronaut, ["turn_left", "blink"], analyser)

    assert result.code == "no_motion"
    assert result.scores["motion"] < 0.03
    assert result.scores["yaw_range"] < 6


def test_a_still_photo_moved_as_a_whole_still_fails_with_no_motion(clips, astronaut, analyser):
    # A printed photo held up to the camera shakes as one flat piece: rigid motion only.
    frames = clips.replay(shake=3.0)

    result = check_liveness(frames, astronaut, ["turn_right", "blink"], analyser)

    assert result.code == "no_motion"


def test_two_faces_in_view_fail_with_multiple_faces(clips, astronaut, analyser):
    frames = clips.two_faces(["turn_left", "blink"])

    result = check_liveness(frames, astronaut, ["turn_left", "blink"], analyser)

    assert result.code == "multiple_faces"


def test_frames_without_a_face_fail_with_no_face(astronaut, analyser):
    frames = [np.full((240, 320, 3), 90, np.uint8)] * 12

    result = check_liveness(frames, astronaut, ["blink", "turn_left"], analyser)

    assert result.code == "no_face"
    assert result.scores["face_fraction"] == 0.0


def test_someone_else_performing_the_challenge_fails_with_face_mismatch(
    clips, astronaut, other_person, analyser
):
    steps = ["turn_right", "turn_left"]
    frames = clips.challenge(steps, face="other")

    own_photo = check_liveness(frames, other_person, steps, analyser)
    astronauts_photo = check_liveness(frames, astronaut, steps, analyser)

    assert own_photo.passed, own_photo  # the clip itself is fine...
    assert astronauts_photo.code == "face_mismatch"  # ...but it is not the astronaut
    assert astronauts_photo.scores["embedding_distance_photo"] > analyser.embedding_threshold


def test_a_person_swapped_mid_clip_fails_with_face_mismatch(clips, astronaut, analyser):
    steps = ["turn_right", "turn_left"]
    frames = clips.spliced(steps)

    result = check_liveness(frames, astronaut, steps, analyser)

    assert result.code == "face_mismatch"
    assert result.scores["embedding_distance_frames"] > analyser.embedding_threshold


def test_a_photo_without_exactly_one_face_is_refused(clips, astronaut, analyser):
    frames = clips.challenge(("turn_left", "turn_right"), codec="libx264")
    blank = np.full_like(astronaut, 128)
    pair = np.hstack([astronaut, astronaut])

    assert check_liveness(frames, blank, ["turn_left", "turn_right"], analyser).code == "no_face"
    assert (
        check_liveness(frames, pair, ["turn_left", "turn_right"], analyser).code == "multiple_faces"
    )


# ---------------------------------------------------------------- the mirror convention


def test_turn_left_means_the_nose_moves_toward_the_image_right(clips, astronaut, analyser):
    # turn_left = the subject turns to their OWN left; the camera faces them, so in the
    # recorded (un-mirrored) frame the nose moves toward the image's right-hand side.
    frames = clips.challenge(("turn_left", "blink"), codec=CODEC_FOR_PAIR["turn_left", "blink"])
    result = check_liveness(frames, astronaut, ["turn_left", "blink"], analyser)
    turned = frames[result.steps[0]["frame"]]

    def nose_offset(frame):  # nose tip against the middle of the face outline, in pixels
        points = analyser.detect(frame)[0].landmarks
        return points[30, 0] - (points[0, 0] + points[16, 0]) / 2

    assert result.passed
    assert nose_offset(turned) - nose_offset(frames[0]) > 10


def test_a_mirrored_recording_of_turn_left_reads_as_turn_right(clips, astronaut, analyser):
    frames = clips.challenge(("turn_left", "blink"), codec=CODEC_FOR_PAIR["turn_left", "blink"])
    mirrored = [cv2.flip(frame, 1) for frame in frames]
    photo = cv2.flip(astronaut, 1)

    as_asked = check_liveness(mirrored, photo, ["turn_left", "blink"], analyser)
    as_seen = check_liveness(mirrored, photo, ["turn_right", "blink"], analyser)

    assert as_asked.code == "challenge_failed"
    assert as_seen.passed


def test_head_yaw_is_positive_when_the_nose_points_to_the_image_right(astronaut, analyser):
    rig = synth.FaceRig(astronaut, (320, 240))

    def yaw(degrees):
        face = analyser.detect(rig.pose(degrees))[0]
        return head_yaw(face.landmarks, 320, 240)

    assert yaw(25) > 15
    assert yaw(-25) < -15
    assert abs(yaw(0)) < 6


# ---------------------------------------------------------------- the result itself


def test_the_check_is_deterministic_and_its_result_serialises(clips, astronaut, analyser):
    frames = clips.challenge(("turn_left", "turn_right"), codec="libx264")

    first = check_liveness(frames, astronaut, ["turn_right", "turn_left"], analyser)
    second = check_liveness(frames, astronaut, ["turn_right", "turn_left"], analyser)

    assert first == second
    decoded = json.loads(json.dumps(first.as_dict()))
    assert decoded["passed"] is False and decoded["code"] == "challenge_failed"
    assert decoded["steps"][0] == {"step": "turn_right", "seen": False, "frame": None}
    assert set(decoded["scores"]) >= {"yaw_range", "ear_min", "ear_baseline", "motion"}


def test_unknown_steps_are_a_programming_error(astronaut, analyser):
    with pytest.raises(ValueError, match="steps"):
        check_liveness([astronaut] * 10, astronaut, ["nod"], analyser)


def test_too_few_frames_fail_with_video_too_short(astronaut, analyser):
    result = check_liveness([astronaut] * 3, astronaut, ["blink"], analyser)

    assert result.code == "video_too_short"
