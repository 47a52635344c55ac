"""docs/ARCHITECTURE.md stays true to the tree: every file it names exists, and every invariant
the code or README cites by name is one it defines."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
# `path/with/a/slash.py` or `folder/` in backticks; `<app>`-style placeholders are skipped.
PATH = re.compile(r"`([a-z_]+/[A-Za-z0-9_./]*)`")
CITED = re.compile(r'[Ii]nvariants? "([a-z-]+)"(?: and "([a-z-]+)")?')
DEFINED = set(re.findall(r"^\| `([a-z-]+)` \|", DOC, flags=re.MULTILINE))


def _sources():
    for pattern in ("**/*.py", "**/*.md", "**/*.html"):
        for path in ROOT.glob(pattern):
            if not {".venv", "node_modules", ".git"} & set(path.parts):
                yield path


def test_every_file_the_document_names_exists():
    missing = [p for p in PATH.findall(DOC) if "<" not in p and not (ROOT / p).exists()]

    assert missing == []


def test_every_invariant_cited_in_the_code_is_defined_in_the_document():
    cited = {}
    for path in _sources():
        for match in CITED.finditer(path.read_text(errors="replace")):
            for name in filter(None, match.groups()):
                cited.setdefault(name, str(path.relative_to(ROOT)))

    assert len(DEFINED) >= 10
    assert {name: where for name, where in cited.items() if name not in DEFINED} == {}
