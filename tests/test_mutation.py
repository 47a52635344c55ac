"""The mutation runner (tests/mutation.py) on a tiny project of its own: a guard, a test that
catches its mutant and one that does not. The runner must report each truthfully, leave the
file byte-identical whatever happens, and refuse what it cannot run honestly."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests import mutation

GUARD = """\
def allowed(age: int) -> bool:
    # mutant: negate — tests/test_guard.py::test_a_child_is_refused
    if age < 14:
        return False
    # mutant: delete — tests/test_guard.py
    #   test_an_adult_is_allowed
    log.append(age)
    return True


log: list[int] = []


def label(image: str) -> str:
    # mutant: skip burn — tests/test_guard.py::test_the_label_is_burnt
    return burn(image).upper()


def burn(image: str) -> str:
    return image + "+label"
"""

TESTS = """\
from app.guard import allowed, label


def test_a_child_is_refused():
    assert not allowed(9)


def test_an_adult_is_allowed():
    assert allowed(40)  # never looks at the log: the delete mutant survives


def test_the_label_is_burnt():
    assert label("x") == "X+LABEL"
"""


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A committed project: ``app/guard.py`` with three markers, ``tests/test_guard.py``."""
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "guard.py").write_text(GUARD)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "__init__.py").write_text("")
    (tmp_path / "tests" / "test_guard.py").write_text(TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:django\npythonpath = .\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "project")
    return tmp_path


def _write_guard(project: Path, text: str) -> None:
    (project / "app" / "guard.py").write_text(textwrap.dedent(text))
    _git(project, "commit", "-qam", "guard")


def test_the_markers_are_found_named_and_applied(project):
    mutants = {m.name: m for m in mutation.discover(project)}

    assert sorted(mutants) == ["app.guard.allowed#1", "app.guard.allowed#2", "app.guard.label#1"]
    assert "    if not (age < 14):\n" in mutants["app.guard.allowed#1"].mutated
    assert "    pass\n    return True" in mutants["app.guard.allowed#2"].mutated
    assert mutants["app.guard.allowed#2"].tests == (
        "tests/test_guard.py::test_an_adult_is_allowed",
    )
    assert "    return (image).upper()\n" in mutants["app.guard.label#1"].mutated


def test_a_surviving_mutant_fails_the_run_and_every_file_is_restored(project, capsys):
    before = (project / "app" / "guard.py").read_bytes()

    code = mutation.main([], root=project)

    out = capsys.readouterr().out
    assert code == 1
    assert "killed   app.guard.allowed#1" in out and "killed   app.guard.label#1" in out
    assert "survived app.guard.allowed#2" in out
    assert "2/3 mutants killed" in out and "SURVIVED: app.guard.allowed#2" in out
    assert (project / "app" / "guard.py").read_bytes() == before
    assert _git(project, "status", "--porcelain") == ""


def test_two_jobs_give_the_same_verdicts_each_in_its_own_tree_and_remove_the_copies(
    project, capsys, tmp_path_factory, monkeypatch
):
    scratch = tmp_path_factory.mktemp("scratch")
    monkeypatch.setattr(mutation.tempfile, "tempdir", str(scratch))
    before = (project / "app" / "guard.py").read_bytes()

    code = mutation.main(["--jobs", "2", "--no-baseline"], root=project)

    out = capsys.readouterr().out
    assert code == 1
    assert "killed   app.guard.allowed#1" in out and "killed   app.guard.label#1" in out
    assert "survived app.guard.allowed#2" in out and "2/3 mutants killed" in out
    assert sorted(line.split("]")[0] for line in out.splitlines() if line.startswith("[")) == [
        "[1/3",
        "[2/3",
        "[3/3",
    ]
    assert (project / "app" / "guard.py").read_bytes() == before
    assert _git(project, "status", "--porcelain") == ""
    assert list(scratch.iterdir()) == []  # the copy is gone


def test_one_mutant_runs_by_name_and_list_runs_nothing(project, capsys):
    assert mutation.main(["app.guard.label#*"], root=project) == 0
    assert "1/1 mutants killed" in capsys.readouterr().out

    assert mutation.main(["--list"], root=project) == 0
    listed = capsys.readouterr().out
    assert "app.guard.label#1  [skip burn]" in listed and "killed" not in listed
    assert mutation.main(["no.such.mutant"], root=project) == 2


def test_the_file_is_restored_when_the_run_is_interrupted(project, monkeypatch):
    before = (project / "app" / "guard.py").read_bytes()
    seen = []

    def interrupted(root, tests, **kwargs):
        seen.append((project / "app" / "guard.py").read_bytes())
        raise KeyboardInterrupt

    monkeypatch.setattr(mutation, "run_tests", interrupted)

    assert mutation.main(["--no-baseline"], root=project) == 130
    assert seen and seen[0] != before  # the mutant was on disk while its tests ran
    assert (project / "app" / "guard.py").read_bytes() == before
    assert _git(project, "status", "--porcelain") == ""


def test_a_marked_file_with_uncommitted_changes_is_refused(project, capsys):
    guard = project / "app" / "guard.py"
    guard.write_text(GUARD + "\n# someone's work in progress\n")

    assert mutation.main([], root=project) == 2
    assert "refusing to start" in capsys.readouterr().err
    assert guard.read_text().endswith("# someone's work in progress\n")


def test_a_named_test_that_does_not_exist_is_refused(project, capsys):
    _write_guard(project, GUARD.replace("test_a_child_is_refused", "test_a_child_is_welcome"))

    assert mutation.main([], root=project) == 2
    assert "tests/test_guard.py::test_a_child_is_welcome" in capsys.readouterr().err


def test_a_test_file_that_cannot_be_collected_is_refused_as_such(project, capsys):
    (project / "tests" / "test_guard.py").write_text(TESTS + "\nimport no_such_module\n")
    _git(project, "commit", "-qam", "broken import")

    assert mutation.main([], root=project) == 2
    err = capsys.readouterr().err
    assert "cannot collect" in err and "no_such_module" in err


def test_tests_that_fail_without_a_mutant_are_refused(project, capsys):
    (project / "tests" / "test_guard.py").write_text(TESTS.replace('"X+LABEL"', '"nope"'))
    _git(project, "commit", "-qam", "broken test")

    assert mutation.main([], root=project) == 2
    assert "fail without any mutant" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("marker", "next_line", "error"),
    [
        ("# mutant: invert — tests/test_guard.py::t", "if x:\n    pass", "unknown kind"),
        ("# mutant: delete", "x = 1", "needs ' — '"),
        ("# mutant: delete —", "x = 1", "at least one test"),
        ("# mutant: delete — test_x", "x = 1", "is not a test"),
        ("# mutant: negate — tests/test_guard.py::t", "x = 1", "'negate' needs an if"),
        ("# mutant: skip — tests/test_guard.py::t", "x = f(1)", "names the one call"),
        ("# mutant: skip g — tests/test_guard.py::t", "x = f(1)", "calls no g("),
        ("# mutant: delete — tests/test_guard.py::t", "\nx = 1", "not a statement's start"),
    ],
)
def test_a_malformed_marker_stops_the_run_before_anything_is_mutated(
    marker, next_line, error, project, capsys
):
    _write_guard(project, f"x = 0\n{marker}\n{next_line}\n")

    assert mutation.main(["--list"], root=project) == 2
    assert error in capsys.readouterr().err


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_a_run_stopped_by_a_signal_writes_the_original_back(project, signal_name):
    """Ctrl-C or a CI timeout while a mutant's tests run: the runner (a process of its own,
    copied into the project) puts the file back before it exits."""
    shutil.copy(mutation.__file__, project / "tests" / "mutation.py")
    (project / "tests" / "test_guard.py").write_text(
        TESTS + "\n\ndef test_slow():\n    import time\n    time.sleep(60)\n"
    )
    _write_guard(project, GUARD.replace("test_a_child_is_refused", "test_slow", 1))
    guard = project / "app" / "guard.py"
    before = guard.read_bytes()
    runner = subprocess.Popen(
        [sys.executable, "-m", "tests.mutation", "--no-baseline", "app.guard.allowed#1"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while guard.read_bytes() == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert guard.read_bytes() != before, "the mutant was never written"
    time.sleep(1)  # its tests are running

    runner.send_signal(getattr(signal, signal_name))
    _out, err = runner.communicate(timeout=60)

    assert runner.returncode == 130, err
    assert "every file is restored" in err
    assert guard.read_bytes() == before
