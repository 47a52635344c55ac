"""`make bench`: run every bench/*_bench.py, then print one table of bench/results.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"


def print_table(results: dict) -> None:
    header = f"{'figure':<34} {'value':>12} {'unit':<8} {'baseline':>12} {'ratio':>8}  target"
    print(header)
    print("-" * len(header))
    for name in sorted(results):
        row = results[name]
        baseline = "" if row.get("baseline") is None else f"{row['baseline']:.4g}"
        ratio = "" if row.get("ratio") is None else f"{row['ratio']:.3f}"
        print(
            f"{name:<34} {row['value']:>12.4g} {row['unit']:<8} {baseline:>12} {ratio:>8}  "
            f"{row.get('target', '')}"
        )


def main() -> int:
    failed = []
    for script in sorted(HERE.glob("*_bench.py")):
        print(f"== {script.name}", flush=True)
        if subprocess.run([sys.executable, str(script)], cwd=HERE.parent).returncode:
            failed.append(script.name)
    if RESULTS.exists():
        print()
        print_table(json.loads(RESULTS.read_text()))
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
