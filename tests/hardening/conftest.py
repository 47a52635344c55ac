"""Hypothesis keeps its files (example database, caches) in a temporary folder, not in the work
tree; the property and fuzz tests also run with ``database=None``."""

import tempfile

from hypothesis.configuration import set_hypothesis_home_dir

set_hypothesis_home_dir(tempfile.mkdtemp(prefix="faceledger-hypothesis-"))
