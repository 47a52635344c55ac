"""Presentation-attack figures of the liveness check, in ISO/IEC 30107-3 terms.

APCER (attack presentation classification error rate): the share of attack presentations of a
kind that the check ACCEPTS. BPCER (bona fide presentation classification error rate): the share
of genuine presentations it REJECTS. Measured on synthetic clips made from one public-domain
portrait (``tests/biometrics/synth.py``); no recordings of real people exist here, so BPCER on
real users is unmeasured (README.md says how to measure it).

Attack kinds:

(a) a library of 100 pre-recorded clips, each a person doing a random plausible challenge (the
    same draw the server makes, at human reaction times), tried against fresh challenges: for
    each challenge the attacker uploads whichever clip passes, also cut or padded in time by up
    to 3 s. A challenge counts as broken if any clip at any shift passes.
(b) the portrait held up and tilted to act out each fresh challenge (one homography a frame);
    also against challenges of turns, looks and tilts only, which a picture could act out.
(c) the portrait replayed still, or shaken as a whole.
(d) a clip of the right actions, in order, at the wrong times (another draw of the windows).

Genuine proxies: the 3D-ish head (points at different depths) doing fresh challenges at
reaction times drawn from 0.3-1.0 s, encoded as H.264 or VP8 and decoded like an upload.

Run from the repository root: ``.venv/bin/python bench/liveness_bench.py`` (about four minutes
on one busy core: 200 clips are rendered and analysed). ``--quick`` runs a tenth of it.
"""

from __future__ import annotations

import itertools
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from biometrics.analysis import get_analyser  # noqa: E402
from biometrics.analysis.liveness import (  # noqa: E402
    ACTIONS,
    DEFAULT_CONFIG,
    DEFAULT_LAYOUT,
    OUT_OF_PLANE,
    challenge_draw,
    check_liveness,
    events,
    match_steps,
    observe,
)
from biometrics.analysis.liveness import _check_motion as measure_rest  # noqa: E402
from biometrics.analysis.video import decode_video  # noqa: E402
from tests.biometrics import synth  # noqa: E402

try:  # the shared results file, when the benchmark helpers are there
    from _common import figure, merge_results
except ImportError:  # pragma: no cover - run on its own
    figure = merge_results = None

SIZE = (320, 240)  # the face is ~115 px wide, as in the tests
FPS = 10
LIBRARY_FPS = 8  # the 100 library clips: coarser, to keep the bench bounded
SHIFTS = [round(0.1 * n, 1) for n in range(-30, 31)]  # the attacker trims or pads the clip
PLANAR_GAIN = (1.5, 2.5)  # tilt the picture 1.5x the turn, 2.5x the look: reads as a turn
FLAT_ACTIONS = ("turn_left", "turn_right", "look_up", "look_down", "tilt_left", "tilt_right")


def challenge_space() -> int:
    """How many distinct timed challenges the server can draw (README.md)."""
    layout = DEFAULT_LAYOUT
    orders = 0
    for actions in itertools.product(ACTIONS, repeat=layout.actions):
        repeats = any(a == b for a, b in itertools.pairwise(actions))
        if repeats or actions.count("blink") > 1 or not set(actions) & set(OUT_OF_PLANE):
            continue
        orders += 1
    slots = len(list(itertools.combinations(range(layout.slots), layout.actions)))
    return orders * slots * (layout.lead_jitter_steps + 1)


def reactions(rng: random.Random, count: int, low: float = 0.3, high: float = 0.9) -> list:
    return [round(rng.uniform(low, high), 2) for _ in range(count)]


def as_upload(frames, codec: str = "libx264"):
    video = decode_video(synth.encode(frames, fps=FPS, codec=codec))
    return video.frames, video.times


class Bench:
    def __init__(self, scale: float):
        self.scale = scale
        self.analyser = get_analyser("classic")
        self.face = synth.astronaut_bgr()
        self.rng = random.Random(30107)

    def n(self, full: int) -> int:
        return max(2, round(full * self.scale))

    def check(self, frames, times, steps):
        return check_liveness(frames, times, self.face, steps, self.analyser)

    # ------------------------------------------------------------ genuine

    def genuine(self) -> tuple[float, list]:
        rejected, margins = [], []
        for number in range(self.n(24)):
            steps = challenge_draw(self.rng)
            late = reactions(self.rng, len(steps), 0.3, 1.0)
            frames = synth.challenge_frames(self.face, steps, fps=FPS, size=SIZE, reaction=late)
            codec = ("libx264", "vp8")[number % 2]
            result = self.check(*as_upload(frames, codec), steps)
            if not result.passed:
                rejected.append((steps, late, result.code, result.detail))
            margins += [s["end"] - s["at"] for s in result.steps if s["at"] is not None]
        return len(rejected) / self.n(24), [rejected, min(margins, default=0.0)]

    # ------------------------------------------------------------ (a) a library of clips

    def library(self) -> tuple[float, float, int]:
        clips = []
        for _ in range(100 if self.scale >= 1 else self.n(100)):
            steps = challenge_draw(self.rng)
            late = reactions(self.rng, len(steps))
            frames = synth.challenge_frames(
                self.face, steps, fps=LIBRARY_FPS, size=SIZE, reaction=late
            )
            track = observe(frames, self.analyser, DEFAULT_CONFIG)
            measure_rest(track, DEFAULT_CONFIG)
            times = [i / LIBRARY_FPS for i in range(len(frames))]
            clips.append((events(track), times, steps))
        # Each library clip passes its own challenge (it is a genuine recording).
        own = sum(not match_steps(steps, seen, times)[1] for seen, times, steps in clips)
        fresh = [challenge_draw(self.rng) for _ in range(self.n(2000))]
        plain = sum(self._broken(steps, clips, [0.0]) for steps in fresh) / len(fresh)
        shifted = sum(self._broken(steps, clips, SHIFTS) for steps in fresh) / len(fresh)
        return plain, shifted, own

    @staticmethod
    def _broken(steps, clips, shifts) -> bool:
        names = [s["step"] for s in steps if s["step"] != "blink"]
        for seen, times, _ in clips:
            if [e.kind for e in seen if e.kind != "blink"] != names:
                continue  # its moves differ: no cut or pad makes it pass
            for shift in shifts:
                if not match_steps(steps, seen, [t + shift for t in times])[1]:
                    return True
        return False

    # ------------------------------------------------------------ (b) a photo held up

    def planar(self, *, flat_only: bool) -> tuple[float, dict]:
        codes: dict[str, int] = {}
        count = self.n(15)
        for _ in range(count):
            steps = challenge_draw(self.rng)
            if flat_only:
                steps = [
                    {**s, "step": self._flat(s["step"], i, steps)} for i, s in enumerate(steps)
                ]
            frames = synth.planar_frames(self.face, steps, fps=FPS, size=SIZE, gain=PLANAR_GAIN)
            result = self.check(*as_upload(frames), steps)
            codes[result.code or "passed"] = codes.get(result.code or "passed", 0) + 1
        return codes.get("passed", 0) / count, codes

    def _flat(self, action: str, index: int, steps: list) -> str:
        """``action``, or a turn, look or tilt instead of a blink or an open mouth (not the
        same as the step before)."""
        if action in FLAT_ACTIONS:
            return action
        before = steps[index - 1]["step"] if index else None
        return self.rng.choice([a for a in FLAT_ACTIONS if a != before])

    # ------------------------------------------------------------ (c) a still replay

    def still(self) -> tuple[float, dict]:
        codes: dict[str, int] = {}
        count = self.n(6)
        for number in range(count):
            steps = challenge_draw(self.rng)
            shake = (0.0, 1.0, 3.0)[number % 3]
            seconds = steps[-1]["end"] + 0.5
            frames = synth.replay_frames(
                self.face, fps=FPS, seconds=seconds, size=SIZE, shake=shake
            )
            result = self.check(*as_upload(frames), steps)
            codes[result.code or "passed"] = codes.get(result.code or "passed", 0) + 1
        return codes.get("passed", 0) / count, codes

    # ------------------------------------------------------------ (d) wrong times

    @staticmethod
    def _another_slot(steps, other) -> bool:
        """At least one action a whole slot away (not just the first slot's 0-0.4 s jitter,
        which is within a person's own reaction time)."""
        return any(abs(a["start"] - b["start"]) > 1.0 for a, b in zip(steps, other, strict=True))

    def wrong_times(self) -> tuple[float, dict]:
        codes: dict[str, int] = {}
        count = self.n(15)
        for _ in range(count):
            steps = challenge_draw(self.rng)
            other = steps
            while not self._another_slot(steps, other):
                timing = challenge_draw(self.rng)
                other = [{**t, "step": s["step"]} for s, t in zip(steps, timing, strict=True)]
            late = reactions(self.rng, len(steps))
            frames = synth.challenge_frames(self.face, other, fps=FPS, size=SIZE, reaction=late)
            result = self.check(*as_upload(frames), steps)
            codes[result.code or "passed"] = codes.get(result.code or "passed", 0) + 1
        return codes.get("passed", 0) / count, codes


def measure(scale: float) -> dict[str, tuple[float, str, float | None, str]]:
    started = time.perf_counter()
    bench = Bench(scale)
    bpcer, (rejected, margin) = bench.genuine()
    plain, shifted, own = bench.library()
    planar, planar_codes = bench.planar(flat_only=False)
    flat, flat_codes = bench.planar(flat_only=True)
    still, still_codes = bench.still()
    wrong, wrong_codes = bench.wrong_times()
    for steps, late, code, detail in rejected:
        print(f"genuine rejected: {code} {detail} {steps} reactions {late}")
    print(f"(b) {planar_codes}  (b, turns/looks/tilts only) {flat_codes}")
    print(f"(c) {still_codes}  (d) {wrong_codes}  library clips passing their own: {own}")
    target = "ISO/IEC 30107-3; target <= 0.01"
    return {
        "challenge_space": (challenge_space(), "count", 6, "timed challenges; baseline: before"),
        "apcer_a_library_100": (plain, "rate", None, target),
        "apcer_a_library_100_cut": (shifted, "rate", None, target + "; clips cut/padded 3 s"),
        "apcer_b_planar_photo": (planar, "rate", None, target),
        "apcer_b_planar_photo_flat_steps": (flat, "rate", None, target + "; no blink/mouth"),
        "apcer_c_still_replay": (still, "rate", None, target),
        "apcer_d_wrong_times": (wrong, "rate", None, target),
        "bpcer_synthetic_genuine": (
            bpcer,
            "rate",
            None,
            "synthetic 3D head; real users unmeasured",
        ),
        "window_margin_min": (margin, "s", None, "least time left in a window, reactions 0.3-1 s"),
        "bench_seconds": (time.perf_counter() - started, "s", None, "bounded: < 300 s"),
    }


def main() -> None:
    rows = measure(0.1 if "--quick" in sys.argv else 1.0)
    if merge_results is None or "--quick" in sys.argv:
        for name, (value, unit, baseline, target) in rows.items():
            base = "" if baseline is None else f"{baseline:.4g}"
            print(f"liveness.{name:<34} {value:>10.4g} {unit:<6} {base:>8}  {target}")
        return
    merge_results(
        {
            f"liveness.{name}": figure(value, unit, baseline, target)
            for name, (value, unit, baseline, target) in rows.items()
        }
    )


if __name__ == "__main__":
    main()
