"""Guards proven by mutation (docs/ARCHITECTURE.md, "Guards proven by mutation").

A guard is a line whose loss would break a promise: a consent-gate call, a re-check at claim or
between frames, an erasure, a proof of emptiness, a refusal, a burnt-in label. Each is marked by
an own-line comment directly above it naming how to break it and the tests that must notice::

    # mutant: delete — tests/swap/test_jobs_lifecycle.py
    #   test_a_policy_published_while_a_clip_runs_stops_it_between_frames
    return "" if state == GRANTED else state

Kinds (the statement is the next one after the marker):

- ``delete``: the statement (all its lines) becomes ``pass``;
- ``negate``: the condition of an ``if``/``elif``/``while``/``assert`` or the value of a
  ``return`` becomes ``not (…)``;
- ``skip NAME``: the first call of ``NAME(…)`` in the statement is replaced by its first
  argument (a filter that is bypassed: ``burn_label(frame)`` → ``frame``).

Tests follow the separator (``—`` or ``--``) and continue on the comment lines right below
the marker (every comment line between the marker and its statement belongs to it): a full id
``tests/a.py::test_b``, or a file ``tests/a.py`` followed by names of tests in it (one per line
keeps long names within the line length). A mutant's name is ``<module>.<function>#<n>``, the
n-th marker (from 1) in that function.

``python -m tests.mutation`` applies each mutant on its own to the source file, runs only its
tests in one pytest process (``-x``: the first failure kills it), writes the original back (in
``finally``, so Ctrl-C or a crash restores it too), and exits non-zero if any mutant survived,
a marker is malformed, a named test does not exist or the named tests fail on the unmutated
code. It refuses to start while git shows a marked file modified. ``--list`` lists the mutants;
positional arguments select mutants by name (shell-style patterns: ``'swap.*'``).
``--jobs N`` runs N mutants at a time, each extra one in its own copy of the tree (made once in
a temporary folder and removed at the end), so no two mutants ever share a file.

Standard library only: it must run where nothing but Python and the project are installed.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Top-level folders that are not the application: never searched for markers.
NOT_APPS = frozenset(
    {"tests", "bench", "docs", "locale", "templates", "var", "build", "node_modules"}
)
KINDS = ("delete", "negate", "skip")
TIMEOUT = 300  # seconds per mutant; a mutant that hangs its tests counts as killed

_MARKER = re.compile(r"^(?P<indent>[ \t]*)#\s*mutant\s*:(?P<rest>.*)$")
_TEST_FILE = re.compile(r"^tests/[\w/.-]+\.py$")
_TEST_ID = re.compile(r"^tests/[\w/.-]+\.py::[\w\[\]\-.:]+$")
_TEST_NAME = re.compile(r"^[A-Za-z_]\w*(::\w+)?(\[[\w\-.]+\])?$")


class MarkerError(ValueError):
    """A marker that cannot be applied: the run refuses to start."""


@dataclass(frozen=True)
class Mutant:
    name: str
    path: Path  # relative to the root
    line: int  # 1-based line of the marker
    kind: str
    argument: str  # the called name for ``skip``
    tests: tuple[str, ...]
    source: str = field(repr=False, compare=False)  # the file as it is, unmutated
    mutated: str = field(repr=False, compare=False)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Outcome:
    mutant: Mutant
    verdict: str  # killed | survived | error
    seconds: float
    detail: str = ""


# --- finding markers ----------------------------------------------------------------------------


def app_files(root: Path) -> Iterator[Path]:
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if (
            folder.name in NOT_APPS
            or folder.name.startswith(".")
            or not (folder / "__init__.py").exists()
        ):
            continue
        yield from sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


def discover(root: Path = ROOT) -> list[Mutant]:
    """Every marker under the apps, parsed and applied in memory (not on disk)."""
    mutants: list[Mutant] = []
    for path in app_files(root):
        source = path.read_text(encoding="utf-8")
        if "mutant" not in source:
            continue
        mutants.extend(parse_file(path.relative_to(root), source))
    names = [m.name for m in mutants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise MarkerError(f"two mutants share a name: {duplicates}")
    return mutants


def parse_file(path: Path, source: str) -> list[Mutant]:
    lines = source.splitlines(keepends=True)
    markers = [
        (number, match)
        for number, text in enumerate(lines, start=1)
        if (match := _MARKER.match(text.rstrip("\r\n")))
    ]
    if not markers:
        return []
    tree = ast.parse(source, filename=str(path))
    statements = _statements(tree)
    functions = _functions(tree)
    module = ".".join(path.with_suffix("").parts).removesuffix(".__init__")
    counts: dict[str, int] = {}
    found = []
    for number, match in markers:
        where = f"{path}:{number}"
        kind, argument, tests, last = _parse_marker(lines, number, match.group("rest"), where)
        statement = statements.get(last + 1)
        if statement is None:
            raise MarkerError(f"{where}: the line after the marker is not a statement's start")
        mutated = _mutate(source, statement, kind, argument, where)
        scope = _scope(functions, last + 1)
        counts[scope] = counts.get(scope, 0) + 1
        found.append(
            Mutant(
                name=f"{module}.{scope}#{counts[scope]}" if scope else f"{module}#{counts[scope]}",
                path=path,
                line=number,
                kind=kind,
                argument=argument,
                tests=tests,
                source=source,
                mutated=mutated,
            )
        )
    return found


def _parse_marker(
    lines: list[str], number: int, rest: str, where: str
) -> tuple[str, str, tuple[str, ...], int]:
    """(kind, argument, test ids, the marker's last line number). The comment lines right below
    the marker continue it."""
    head, separator, tail = _split(rest)
    if not separator:
        raise MarkerError(f"{where}: a marker needs ' — ' followed by the tests that kill it")
    words = head.split()
    if not words or words[0] not in KINDS:
        raise MarkerError(f"{where}: unknown kind {head.strip()!r} (one of {', '.join(KINDS)})")
    kind, arguments = words[0], words[1:]
    if kind == "skip" and len(arguments) != 1:
        raise MarkerError(f"{where}: 'skip' names the one call to bypass: '# mutant: skip NAME —'")
    if kind != "skip" and arguments:
        raise MarkerError(f"{where}: {kind!r} takes no argument")
    words = tail.split()
    last = number
    while last < len(lines) and lines[last].lstrip().startswith("#"):
        words.extend(lines[last].lstrip()[1:].split())
        last += 1
    return kind, (arguments[0] if arguments else ""), _test_ids(words, where), last


def _test_ids(words: list[str], where: str) -> tuple[str, ...]:
    """``tests/a.py::test_x`` as it is; ``tests/a.py`` followed by names: those tests of it."""
    ids: list[str] = []
    current = ""
    for word in words:
        if _TEST_FILE.match(word):
            current = word
            ids.append(word)
        elif _TEST_ID.match(word):
            ids.append(word)
        elif current and _TEST_NAME.match(word):
            if ids and ids[-1] == current:
                ids.pop()  # the file only introduced its names
            ids.append(f"{current}::{word}")
        else:
            raise MarkerError(f"{where}: {word!r} is not a test (tests/….py[::name] or a name)")
    if not ids:
        raise MarkerError(f"{where}: a marker names at least one test")
    return tuple(ids)


def _split(rest: str) -> tuple[str, str, str]:
    for separator in (" — ", " -- "):
        head, found, tail = f"{rest} ".partition(separator)
        if found:
            return head, found, tail
    return rest, "", ""


def _statements(tree: ast.AST) -> dict[int, ast.stmt]:
    """The statements by their first line (the decorator-less start; ``elif`` included)."""
    found: dict[int, ast.stmt] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt):
            found.setdefault(node.lineno, node)
    return found


def _functions(tree: ast.AST) -> list[tuple[int, int, str]]:
    """(first line, last line, qualified name) of every function and class, outermost first."""
    spans: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                spans.append((child.lineno, child.end_lineno or child.lineno, name))
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return spans


def _scope(functions: list[tuple[int, int, str]], line: int) -> str:
    inside = [name for first, last, name in functions if first <= line <= last]
    return inside[-1] if inside else ""


# --- applying one ------------------------------------------------------------------------------


def _mutate(source: str, statement: ast.stmt, kind: str, argument: str, where: str) -> str:
    if kind == "delete":
        return _delete(source, statement)
    if kind == "negate":
        target = getattr(statement, "test", None)
        if isinstance(statement, ast.Return):
            target = statement.value
        if not isinstance(statement, ast.If | ast.While | ast.Assert | ast.Return) or (
            target is None
        ):
            raise MarkerError(f"{where}: 'negate' needs an if, elif, while, assert or return value")
        mutated = _wrap(source, target, "not (", ")")
    else:
        call = next(
            (
                node
                for node in ast.walk(statement)
                if isinstance(node, ast.Call) and _called(node) == argument and node.args
            ),
            None,
        )
        if call is None:
            raise MarkerError(
                f"{where}: the next statement calls no {argument}(…) with an argument"
            )
        mutated = _replace(source, call, f"({_text(source, call.args[0])})")
    try:
        compile(mutated, where, "exec")
    except SyntaxError as exc:
        raise MarkerError(f"{where}: the mutant does not compile: {exc}") from None
    return mutated


def _called(call: ast.Call) -> str:
    function = call.func
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else ""


def _delete(source: str, statement: ast.stmt) -> str:
    """The statement's lines become one ``pass`` (and blank lines, so line numbers hold)."""
    lines = source.splitlines(keepends=True)
    first, last = statement.lineno - 1, (statement.end_lineno or statement.lineno) - 1
    indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
    if statement.col_offset != len(indent.encode()):
        raise MarkerError(f"line {statement.lineno}: 'delete' needs a statement on its own line")
    lines[first : last + 1] = [f"{indent}pass\n"] + ["\n"] * (last - first)
    return "".join(lines)


def _offsets(source: str, node: ast.expr) -> tuple[int, int]:
    """The node's start and end as byte offsets into the UTF-8 source (ast counts bytes)."""
    data = source.encode()
    starts = [0]
    for line in data.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    end_line = node.end_lineno or node.lineno
    end_col = node.end_col_offset if node.end_col_offset is not None else node.col_offset
    return starts[node.lineno - 1] + node.col_offset, starts[end_line - 1] + end_col


def _text(source: str, node: ast.expr) -> str:
    start, end = _offsets(source, node)
    return source.encode()[start:end].decode()


def _wrap(source: str, node: ast.expr, before: str, after: str) -> str:
    return _replace(source, node, f"{before}{_text(source, node)}{after}")


def _replace(source: str, node: ast.expr, text: str) -> str:
    start, end = _offsets(source, node)
    data = source.encode()
    return (data[:start] + text.encode() + data[end:]).decode()


# --- running ------------------------------------------------------------------------------------


def dirty(root: Path, paths: Sequence[Path]) -> list[str]:
    """The marked files git shows modified (or untracked): a mutant written over them would mix
    with someone's edits, and a restore would be the only copy."""
    result = subprocess.run(  # noqa: S603
        ["git", "status", "--porcelain", "--", *map(str, sorted(set(paths)))],  # noqa: S607
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line[3:] for line in result.stdout.splitlines() if line.strip()]


def pytest_command(tests: Sequence[str], *, fail_fast: bool = True) -> list[str]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header"]
    if fail_fast:
        command.append("-x")
    try:
        import pytest_randomly  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        pass
    else:
        command += ["-p", "no:randomly"]
    return [*command, *tests]


def run_tests(
    root: Path, tests: Sequence[str], *, timeout: float, fail_fast: bool = True
) -> tuple[int | None, str]:
    """pytest's exit code (None on timeout) and the tail of its output. The child writes no
    bytecode, so no cached module of a mutant outlives it."""
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = subprocess.run(  # noqa: S603
            pytest_command(tests, fail_fast=fail_fast),
            cwd=root,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, ""
    return done.returncode, (done.stdout + done.stderr)[-3000:]


def collected(root: Path, tests: Sequence[str]) -> tuple[set[str] | None, str]:
    """The ids pytest collects from ``tests``; None (and its output) if collecting failed."""
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(  # noqa: S603
        [*pytest_command(tests, fail_fast=False), "--collect-only"],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 5):  # 5: nothing collected
        return None, (done.stdout + done.stderr)[-3000:]
    ids = {line.strip() for line in done.stdout.splitlines() if "::" in line}
    return ids, ""


def missing_tests(root: Path, mutants: Sequence[Mutant]) -> list[str]:
    """The named test ids that pytest does not collect (one collection of them all)."""
    wanted = sorted({test for mutant in mutants for test in mutant.tests})
    files = sorted({test.split("::")[0] for test in wanted})
    absent = [f for f in files if not (root / f).is_file()]
    ids, output = collected(root, [f for f in files if f not in absent])
    if ids is None:
        raise MarkerError(f"pytest cannot collect the named test files:\n{output}")
    missing = [t for t in wanted if t.split("::")[0] in absent]
    for test in wanted:
        if test in missing or "::" not in test:
            continue
        if not any(i == test or i.startswith((f"{test}[", f"{test}::")) for i in ids):
            missing.append(test)
    return missing


class _Terminated(Exception):
    pass


def _on_term(signum: int, frame: object) -> None:
    raise _Terminated


def apply_and_run(root: Path, mutant: Mutant, *, timeout: float = TIMEOUT) -> Outcome:
    """Write the mutant, run its tests, write the original back whatever happens (Ctrl-C, a
    crash, SIGTERM). The restored file is byte-identical, with its modification time back."""
    path = root / mutant.path
    original = path.read_bytes()
    if original.decode() != mutant.source:
        raise MarkerError(f"{mutant.where}: the file changed since the markers were read")
    stat = path.stat()
    started = time.monotonic()
    try:
        path.write_text(mutant.mutated, encoding="utf-8")
        code, output = run_tests(root, mutant.tests, timeout=timeout)
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    seconds = time.monotonic() - started
    if code is None:
        return Outcome(mutant, "killed", seconds, f"timeout after {timeout:.0f} s")
    if code == 0:
        return Outcome(mutant, "survived", seconds)
    if code == 1:
        return Outcome(mutant, "killed", seconds, _first_failure(output))
    return Outcome(mutant, "error", seconds, f"pytest exit code {code}\n{output}")


def _first_failure(output: str) -> str:
    for line in output.splitlines():
        if line.startswith(("FAILED tests/", "ERROR tests/")):
            return line.split(" - ")[0]
    return ""


# --- the command --------------------------------------------------------------------------------


def select(mutants: Sequence[Mutant], patterns: Sequence[str]) -> list[Mutant]:
    if not patterns:
        return list(mutants)
    chosen = [m for m in mutants if any(fnmatch.fnmatchcase(m.name, p) for p in patterns)]
    if not chosen:
        raise MarkerError(f"no mutant matches {list(patterns)} (see --list)")
    return chosen


def main(argv: Sequence[str] | None = None, *, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__)
    parser.add_argument("names", nargs="*", help="run only these mutants (shell patterns)")
    parser.add_argument("--list", action="store_true", help="list the mutants and their tests")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip running the tests on unmutated code"
    )
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per mutant")
    parser.add_argument(
        "--jobs", type=int, default=1, help="mutants at a time (each in its own tree copy)"
    )
    options = parser.parse_args(argv)
    try:
        mutants = select(discover(root), options.names)
    except (MarkerError, SyntaxError) as exc:
        print(f"malformed marker: {exc}", file=sys.stderr)
        return 2
    if options.list:
        for mutant in mutants:
            print(f"{mutant.name}  [{mutant.kind} {mutant.argument}".rstrip() + "]")
            print(f"    {mutant.where}")
            for test in mutant.tests:
                print(f"    {test}")
        return 0
    return _run(root, mutants, options)


def _run(root: Path, mutants: list[Mutant], options: argparse.Namespace) -> int:
    try:
        changed = dirty(root, [m.path for m in mutants])
    except (OSError, subprocess.CalledProcessError) as exc:
        print(
            f"refusing to start: git cannot say whether the files are clean: {exc}", file=sys.stderr
        )
        return 2
    if changed:
        print(
            f"refusing to start: git shows these marked files modified: {changed}", file=sys.stderr
        )
        return 2
    try:
        missing = missing_tests(root, mutants)
    except MarkerError as exc:
        print(exc, file=sys.stderr)
        return 2
    if missing:
        print(f"named tests that do not exist: {missing}", file=sys.stderr)
        return 2
    started = time.monotonic()
    if not options.no_baseline:
        tests = sorted({test for mutant in mutants for test in mutant.tests})
        code, output = run_tests(root, tests, timeout=options.timeout * 4, fail_fast=False)
        if code != 0:
            print(f"the named tests fail without any mutant:\n{output}", file=sys.stderr)
            return 2
        print(f"baseline: {len(tests)} named tests pass ({time.monotonic() - started:.0f} s)")
    previous = signal.signal(signal.SIGTERM, _on_term)
    try:
        with tree_copies(root, max(1, options.jobs) - 1) as roots:
            outcomes = run_mutants(roots, mutants, timeout=options.timeout)
    except (KeyboardInterrupt, _Terminated):
        print("interrupted: every file is restored", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    return _summary(outcomes, time.monotonic() - started)


_COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "var", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache"
)


class tree_copies:
    """``[root]`` plus ``count`` copies of it in a temporary folder, removed on exit."""

    def __init__(self, root: Path, count: int) -> None:
        self.root, self.count = root, count
        self.folder: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> list[Path]:
        if not self.count:
            return [self.root]
        self.folder = tempfile.TemporaryDirectory(prefix="mutants-")
        copies = [Path(self.folder.name) / f"tree-{n}" for n in range(self.count)]
        for copy in copies:
            shutil.copytree(self.root, copy, ignore=_COPY_IGNORE, symlinks=True)
        return [self.root, *copies]

    def __exit__(self, *exc: object) -> None:
        if self.folder is not None:
            self.folder.cleanup()


def run_mutants(roots: list[Path], mutants: list[Mutant], *, timeout: float) -> list[Outcome]:
    """Each mutant once, ``len(roots)`` at a time, each tree used by one mutant at a time."""
    free: queue.Queue[Path] = queue.Queue()
    for tree in roots:
        free.put(tree)
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def run(mutant: Mutant) -> None:
        tree = free.get()
        try:
            outcome = apply_and_run(tree, mutant, timeout=timeout)
        finally:
            free.put(tree)
        with lock:
            outcomes.append(outcome)
            print(f"[{len(outcomes)}/{len(mutants)}] {_line(outcome)}", flush=True)
            if outcome.verdict == "error":
                print(outcome.detail, file=sys.stderr)

    if len(roots) == 1:
        for mutant in mutants:
            run(mutant)
        return outcomes
    pool = ThreadPoolExecutor(max_workers=len(roots))
    try:
        for future in [pool.submit(run, mutant) for mutant in mutants]:
            future.result()
    finally:  # on Ctrl-C or SIGTERM: start no other mutant; the running ones restore their file
        pool.shutdown(wait=True, cancel_futures=True)
    return outcomes


def _line(outcome: Outcome) -> str:
    mutant = outcome.mutant
    kind = f"{mutant.kind} {mutant.argument}".strip()
    detail = outcome.detail.splitlines()[0] if outcome.detail else ""
    return (
        f"{outcome.verdict:8} {mutant.name} ({kind}, {mutant.where}, {outcome.seconds:.0f} s)"
        f" {detail}"
    ).rstrip()


def _summary(outcomes: list[Outcome], seconds: float) -> int:
    killed = sum(o.verdict == "killed" for o in outcomes)
    bad = [o for o in outcomes if o.verdict != "killed"]
    print(f"{killed}/{len(outcomes)} mutants killed in {seconds:.0f} s")
    for outcome in bad:
        print(f"  {outcome.verdict.upper()}: {outcome.mutant.name} ({outcome.mutant.where})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
