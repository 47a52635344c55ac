"""The person's path through the service, shown on the account page: each step says whether
it is done and links to the exact place where it is taken.

The account page is below the apps whose steps it shows, so each app registers its own steps
from its ``AppConfig.ready()`` (``progress.register("swap", 30, swap_step)``), as the staff
roles and report sections are plugged in; nothing here names an app above it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Step:
    name: str  # stable, for tests and styles
    title: str  # what the step is, in the active language
    status: str  # where the person stands: "1 capture", "Not yet"
    done: bool
    action: str  # the link's words while the step is to do: "Enrol your face"
    url: str  # where the step is taken
    done_action: str = ""  # the link's words once every step is done (the last step's)


@dataclass(frozen=True)
class PathStep:
    step: Step
    state: str  # "done", "next" or "todo"


_registered: dict[str, tuple[int, Callable[[Any], Step]]] = {}


def register(name: str, order: int, step: Callable[[Any], Step]) -> None:
    """``step(subject)`` builds the step for a person; steps show in ``order`` (idempotent)."""
    _registered[name] = (order, step)


def path_for(subject: Any) -> list[PathStep]:
    """Every step for ``subject`` in order: done ones, then the first to do ("next"), then
    the rest ("todo")."""
    steps = [build(subject) for _order, build in sorted(_registered.values(), key=_order_of)]
    first_open = next((i for i, step in enumerate(steps) if not step.done), len(steps))
    return [
        PathStep(step, "done" if step.done else "next" if i == first_open else "todo")
        for i, step in enumerate(steps)
    ]


def _order_of(entry: tuple[int, Callable[[Any], Step]]) -> int:
    return entry[0]
