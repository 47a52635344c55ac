"""The synthetic clips moved to ``biometrics.analysis.synth`` (``seed_demo`` makes its demo
template clip with them); the tests and benchmarks keep importing them from here."""

from biometrics.analysis.synth import *  # noqa: F403
from biometrics.analysis.synth import __all__  # noqa: F401
