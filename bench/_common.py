"""Shared by the benchmarks: Django set-up on a benchmark database, results merge, table.

A benchmark script runs as ``.venv/bin/python bench/<area>_bench.py`` from the repository root:

    from _common import setup_django, merge_results, print_table, figure
    setup_django()            # DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench)
    ...
    merge_results({"area.figure": figure(value, "unit", baseline, "target text")})
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from run_all import RESULTS, print_table

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench"

__all__ = ["figure", "merge_results", "print_table", "setup_django", "timed"]


def _create_postgres_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(*, migrate: bool = True) -> None:
    """Configure Django (local settings, DEBUG off so queries are not kept), create the
    PostgreSQL database if missing and migrate it."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "compliance_site.settings.local")
    os.environ["DJANGO_DEBUG"] = "0"
    url = os.environ["DATABASE_URL"]
    if url.startswith(("postgres://", "postgresql://")):
        _create_postgres_database(url)
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


def figure(
    value: float, unit: str, baseline: float | None = None, target: str = ""
) -> dict[str, object]:
    """One results.json entry; the ratio is value / baseline, both measured in the same run."""
    ratio = value / baseline if baseline else None
    return {
        "value": round(value, 4),
        "unit": unit,
        "baseline": None if baseline is None else round(baseline, 4),
        "ratio": None if ratio is None else round(ratio, 4),
        "target": target,
    }


def merge_results(figures: dict[str, dict[str, object]]) -> dict:
    """Update ``bench/results.json`` with these figures (others' figures are kept); print them."""
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.update(figures)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print_table(figures)
    return results


@contextmanager
def timed():
    """``with timed() as t: ...`` then ``t()`` is the elapsed seconds."""
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())
