"""No module of one app imports a non-public module, or an underscore name, of another.

Each app's public modules are listed here; anything else in the app is its own. A public module
that declares ``__all__`` (``biometrics.analysis``) is public through those names only. Every
import statement is read with ``ast``, those inside functions included, so a lazy import
cannot slip past."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PUBLIC: dict[str, frozenset[str]] = {
    "compliance_site": frozenset(
        {
            "compliance_site.accountability",
            "compliance_site.admin",
            "compliance_site.api",
            "compliance_site.client_address",
            "compliance_site.append_only",
            "compliance_site.crypto",
            "compliance_site.dates",
            "compliance_site.deadlines",
            "compliance_site.errors",
            "compliance_site.http",
            "compliance_site.inventory",
            "compliance_site.jobs",
            "compliance_site.keystore",
            "compliance_site.openapi",
            "compliance_site.pdf",
            # The account page's path, filled by the apps above (docs/ARCHITECTURE.md).
            "compliance_site.progress",
            "compliance_site.request_context",
            "compliance_site.staff_roles",
            "compliance_site.storage",
        }
    ),
    "audit": frozenset(
        {
            "audit.actions",
            # Closing mode, asked by sign-up, captures and swaps (README "Closing the service").
            "audit.closing",
            "audit.leaves",
            "audit.models",
            "audit.selectors",
            "audit.services",
            "audit.signing",
        }
    ),
    "consent": frozenset(
        {
            "consent.identity.authentication",
            "consent.identity.http",
            "consent.identity.models",
            "consent.ledger.gate",
            "consent.ledger.models",
            "consent.ledger.selectors",
            # The report's registries, filled by the apps above (docs/ARCHITECTURE.md).
            "consent.reports",
            "consent.reports.pdf",
            "consent.reports.schema",
            "consent.reports.sections",
        }
    ),
    "biometrics": frozenset(
        {
            # The face analysis package, through its __all__ only (not its submodules).
            "biometrics.analysis",
            # The signed-in request types the views of the apps above annotate with.
            "biometrics.models",
            "biometrics.selectors",
            "biometrics.services",
            # The memory-only upload handlers and the gate-first sender, for every endpoint
            # that receives a face (a swap without enrolment too).
            "biometrics.uploads",
            "biometrics.vault",
        }
    ),
    "swap": frozenset(),  # the top layer: no other app imports it
}


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _declared_all(module: str) -> set[str] | None:
    """The module's literal ``__all__``, read without importing it; ``None`` if it has none."""
    path = ROOT.joinpath(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        ):
            return set(ast.literal_eval(node.value))
    return None


def _imports(tree: ast.AST) -> list[tuple[int, str, str | None]]:
    """(line, module, imported name or None) for every absolute import in ``tree``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if _is_module(submodule):
                    found.append((node.lineno, submodule, None))
                else:
                    found.append((node.lineno, node.module, alias.name))
    return found


def violations(source: str, app: str, where: str = "<source>") -> list[str]:
    """What in ``source`` (a module of ``app``) reaches past another app's public surface."""
    found = []
    for line, module, name in _imports(ast.parse(source)):
        other = module.split(".")[0]
        if other not in PUBLIC or other == app:
            continue
        if module not in PUBLIC[other]:
            found.append(f"{where}:{line}: {module} (not a public module of {other})")
        elif name is not None and name.startswith("_"):
            found.append(f"{where}:{line}: {module}.{name} (an underscore name)")
        elif name is not None and name not in (_declared_all(module) or {name}):
            found.append(f"{where}:{line}: {module}.{name} (not in {module}.__all__)")
    return found


def test_no_app_imports_a_non_public_module_or_name_of_another():
    found = []
    for app in PUBLIC:
        for path in sorted((ROOT / app).rglob("*.py")):
            found += violations(path.read_text(), app, str(path.relative_to(ROOT)))

    assert found == []


def test_no_app_imports_the_tests_or_the_benchmarks():
    """Test-only tools (the synthetic spoofing clips of ``tests/biometrics/synth.py``) stay
    out of the production apps."""
    found = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for app in PUBLIC
        for path in sorted((ROOT / app).rglob("*.py"))
        for line, module, _ in _imports(ast.parse(path.read_text()))
        if module.split(".")[0] in {"tests", "bench"}
    ]

    assert found == []


def test_every_listed_public_module_exists():
    missing = [name for names in PUBLIC.values() for name in names if not _is_module(name)]

    assert missing == []


def test_the_rule_sees_lazy_imports_submodules_underscore_names_and_all():
    source = (
        "from biometrics.analysis import Face, get_analyser\n"
        "from biometrics import vault\n"
        "def later():\n"
        "    from biometrics.analysis.insight import load_model\n"
        "    import biometrics.analysis.video\n"
        "    from biometrics import stores\n"
        "    from biometrics.analysis import insight, _lock, normalise\n"
        "    from swap.engines import get_engine\n"
    )

    found = violations(source, "consent")

    assert found == [
        "<source>:4: biometrics.analysis.insight (not a public module of biometrics)",
        "<source>:5: biometrics.analysis.video (not a public module of biometrics)",
        "<source>:6: biometrics.stores (not a public module of biometrics)",
        "<source>:7: biometrics.analysis.insight (not a public module of biometrics)",
        "<source>:7: biometrics.analysis._lock (an underscore name)",
        "<source>:7: biometrics.analysis.normalise (not in biometrics.analysis.__all__)",
        "<source>:8: swap.engines (not a public module of swap)",
    ]
    assert violations(source, "biometrics") == [
        "<source>:8: swap.engines (not a public module of swap)"
    ]
