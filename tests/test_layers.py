"""The one-way rule between the apps, checked on the source: every import statement (lazy ones
inside functions included) and every module named to ``importlib.import_module`` or
``import_string`` must point to the importer's own layer or one below it:

    compliance_site ← audit ← consent.identity ← consent.ledger
        ← consent.erasure / consent.reports (siblings: neither imports the other)
        ← biometrics ← swap

The rest of ``consent`` (its AppConfig, the modules Django and Celery discover, the stores'
declarations, commands and migrations) is the app's shell: it wires the four sub-domains and
sits above them. Upper apps plug into lower ones through registries (staff roles, report
sections, staff events...), so a lower layer's code never names a higher app's module or
permission in a string either.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("compliance_site", "audit", "consent", "biometrics", "swap")

# (module prefix, rank, group). The longest matching prefix decides; equal ranks in
# different groups are siblings and may not import each other.
LAYERS = (
    ("compliance_site", 0, "compliance_site"),
    ("audit", 1, "audit"),
    ("consent.identity", 2, "identity"),
    ("consent.ledger", 3, "ledger"),
    ("consent.erasure", 4, "erasure"),
    ("consent.reports", 4, "reports"),
    ("consent", 5, "consent"),
    ("biometrics", 6, "biometrics"),
    ("swap", 7, "swap"),
)

# The project's composition root: settings and the root URLconf name every app by design
# (INSTALLED_APPS, the beat schedule, ``include("swap.urls")``); nothing imports them.
COMPOSITION_ROOT = ("compliance_site/settings/", "compliance_site/urls.py")

# Code below biometrics that names biometrics or swap in a string literal (docstrings are
# documentation and are not checked). Each exception is listed with its reason.
UPPER_NAME = re.compile(r"\b(biometrics|swap)\.[a-z_]")
STRING_EXCEPTIONS: dict[str, str] = {
    # The refusal message tells the operator which task to run; the key store itself is
    # below every app and calls nothing of biometrics.
    "compliance_site/keystore.py": "biometrics.tasks.master_key_schedule",
}


@dataclass(frozen=True)
class Layer:
    rank: int
    group: str


def layer_of(module: str) -> Layer | None:
    for prefix, rank, group in sorted(LAYERS, key=lambda row: -len(row[0])):
        if module == prefix or module.startswith(prefix + "."):
            return Layer(rank, group)
    return None


def may_import(importer: Layer, imported: Layer) -> bool:
    if imported.rank < importer.rank:
        return True
    return imported.rank == importer.rank and imported.group == importer.group


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def app_files() -> list[Path]:
    return sorted(p for app in APPS for p in (ROOT / app).rglob("*.py"))


def _resolve(module: str, level: int, importer: str, is_package: bool) -> str:
    if not level:
        return module
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, lazy and by string included."""
    tree = ast.parse(path.read_text(), filename=str(path))
    me = module_name(path)
    package = path.name == "__init__.py"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module or "", node.level, me, package)
            found.append((node.lineno, base))
            # ``from consent import reports`` imports the sub-package itself.
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and _is_import_call(node) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append((node.lineno, first.value))
    return found


def _is_import_call(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in {"import_module", "import_string", "__import__"}


def upward_imports(path: Path) -> list[str]:
    importer = layer_of(module_name(path))
    problems = []
    reported: list[tuple[int, str]] = []
    for line, module in imports_of(path):
        imported = layer_of(module)
        if importer and imported and not may_import(importer, imported):
            # ``from a.b import c``: one line for ``a.b``, unless ``a.b.c`` is another layer.
            if any(at == line and module.startswith(f"{seen}.") for at, seen in reported):
                if layer_of(module) == layer_of(reported[-1][1]):
                    continue
            reported.append((line, module))
            problems.append(f"{path.relative_to(ROOT)}:{line}: imports {module}")
    return problems


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def upper_names_in_strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    docs = _docstrings(tree)
    allowed = STRING_EXCEPTIONS.get(str(path.relative_to(ROOT)), "")
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            text = node.value.replace(allowed, "") if allowed else node.value
            if UPPER_NAME.search(text):
                problems.append(f"{path.relative_to(ROOT)}:{node.lineno}: names {node.value!r}")
    return problems


def _below_biometrics(path: Path) -> bool:
    layer = layer_of(module_name(path))
    return layer is not None and layer.rank < layer_of("biometrics").rank


def _in_composition_root(path: Path) -> bool:
    return str(path.relative_to(ROOT)).startswith(COMPOSITION_ROOT)


def test_no_module_imports_a_layer_above_its_own():
    problems = [p for path in app_files() for p in upward_imports(path)]
    assert not problems, "Upward imports:\n" + "\n".join(problems)


def test_no_lower_layer_names_biometrics_or_swap_in_a_string():
    files = [p for p in app_files() if _below_biometrics(p) and not _in_composition_root(p)]
    problems = [p for path in files for p in upper_names_in_strings(path)]
    assert not problems, "Upper apps named below them:\n" + "\n".join(problems)


# consent's modules that only load its sub-domains for Django's and Celery's discovery: code
# imports the sub-domain that defines a name (migrations keep the paths they were written with).
DISCOVERY_ONLY = {"consent.models", "consent.admin", "consent.tasks", "consent.urls"}
DISCOVERY_ONLY |= {"consent.api_urls"}


def test_nothing_imports_the_modules_that_only_serve_discovery():
    files = [*app_files(), *(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]
    problems = [
        f"{path.relative_to(ROOT)}:{line}: imports {module}"
        for path in files
        if "migrations" not in path.parts
        for line, module in imports_of(path)
        if module in DISCOVERY_ONLY
    ]
    assert not problems, "Import the sub-domain instead:\n" + "\n".join(problems)


def test_the_checker_sees_lazy_imports_string_imports_and_siblings(tmp_path):
    """The checker itself: it must catch what it exists to catch."""
    assert not may_import(layer_of("compliance_site.admin"), layer_of("consent.identity"))
    assert not may_import(layer_of("consent.reports.pdf"), layer_of("consent.erasure.models"))
    assert not may_import(layer_of("consent.erasure.services"), layer_of("consent.reports"))
    assert not may_import(layer_of("consent.ledger.gate"), layer_of("consent.models"))
    assert may_import(layer_of("consent.erasure.services"), layer_of("consent.ledger.gate"))
    assert may_import(layer_of("consent.apps"), layer_of("consent.reports.services"))
    assert may_import(layer_of("swap.services"), layer_of("biometrics.vault"))

    source = (
        "def later():\n"
        "    from swap.engines import content_credentials\n"
        "    importlib.import_module('biometrics.tasks')\n"
        "    import_string('consent.identity.sms.backends.http.SmsBackend')\n"
    )
    module = ROOT / "compliance_site" / "_layer_probe.py"
    module.write_text(source)
    try:
        found = upward_imports(module)
    finally:
        module.unlink()
    assert [line.split(": ", 1)[1] for line in found] == [
        "imports swap.engines",
        "imports biometrics.tasks",
        "imports consent.identity.sms.backends.http.SmsBackend",
    ]
