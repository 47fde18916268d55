"""The house rules, read from the code itself: imports run one way between the library's layers, only the
app layer imports Streamlit, no test module imports another, and no module or page outgrows its room.

The layers (docs/architecture.md): app and cli above render, above queries, above rules, above store;
ingest beside queries (it may use rules and store); words used by all and using none. The sample
generator and the benchmarks stand outside the layers and may use any of them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from .conftest import REPO

PACKAGE = REPO / "opsg_metrics"

# layer -> the layers it may import (itself included)
ALLOWED = {
    "words": {"words"},
    "store": {"store", "words"},
    "rules": {"rules", "store", "words"},
    "ingest": {"ingest", "rules", "store", "words"},
    "queries": {"queries", "rules", "store", "words"},
    "render": {"render", "queries", "rules", "store", "words"},
    "app": {"app", "render", "queries", "ingest", "rules", "store", "words"},
    "cli": {"cli", "render", "queries", "ingest", "rules", "store", "words"},
}
OUTSIDE = {"sample", "sample_events", "__main__", "__init__"}  # may use any layer
MAX_MODULE_LINES = 500
MAX_PAGE_LINES = 150
LONG_ALLOWED = {"opsg_metrics/sample.py"}  # the sample generator (data, not logic)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> str | None:
    """The layer of an opsg_metrics module, None for one outside the layers."""
    parts = module.split(".")
    if parts[0] != "opsg_metrics":
        return None
    if len(parts) == 1:
        return "__init__"
    return parts[1] if parts[1] in ALLOWED or parts[1] in OUTSIDE else parts[1]


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports (relative imports resolved), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # `from package import module` names a module too
            found += [
                (node.lineno, f"{module}.{alias.name}")
                for alias in node.names
                if (REPO / Path(*f"{module}.{alias.name}".split("."))).with_suffix(".py").exists()
                or (REPO / Path(*f"{module}.{alias.name}".split("."))).is_dir()
            ]
    return found


LIBRARY = sorted(PACKAGE.rglob("*.py"))
PAGES = sorted((REPO / "pages").glob("*.py"))
TESTS = sorted((REPO / "tests").glob("*.py"))


def test_every_library_module_sits_in_a_layer():
    strays = [
        str(p.relative_to(REPO))
        for p in LIBRARY
        if layer_of(module_name(p)) not in ALLOWED and layer_of(module_name(p)) not in OUTSIDE
    ]
    assert strays == []


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_downward_only(path):
    layer = layer_of(module_name(path))
    if layer in OUTSIDE:
        return
    wrong = []
    for line, module in imports_of(path):
        target = layer_of(module)
        if target is None or target in OUTSIDE and target != "__init__":
            if target in OUTSIDE:
                wrong.append(f"line {line}: {module} (outside the layers)")
            continue
        if target == "__init__":
            continue
        if target not in ALLOWED[layer]:
            wrong.append(f"line {line}: {layer} imports {module} ({target})")
    assert wrong == []


def test_words_uses_nothing_of_the_package():
    assert [m for _, m in imports_of(PACKAGE / "words.py") if m.startswith("opsg_metrics")] == []


@pytest.mark.parametrize(
    "path",
    LIBRARY + PAGES + [REPO / "app.py"] + sorted((REPO / "benchmarks").glob("*.py")),
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_only_the_app_layer_imports_streamlit(path):
    relative = path.relative_to(REPO)
    may = (
        relative.parts[0] == "pages"
        or relative == Path("app.py")
        or relative.parts[:2] == ("opsg_metrics", "app")
        or relative.parts[0] == "benchmarks"
    )  # the benchmarks drive pages through Streamlit's AppTest
    uses = [m for _, m in imports_of(path) if m == "streamlit" or m.startswith("streamlit.")]
    assert may or uses == []


@pytest.mark.parametrize("path", TESTS, ids=lambda p: p.name)
def test_no_test_module_imports_another(path):
    others = [m for _, m in imports_of(path) if m.startswith("tests.test_") or m.startswith(".test_")]
    assert others == []


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_library_module_outgrows_its_room(path):
    if str(path.relative_to(REPO)) in LONG_ALLOWED:
        return
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_MODULE_LINES


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_pages_only_read_their_request_and_show(path):
    source = path.read_text(encoding="utf-8")
    assert len(source.splitlines()) <= MAX_PAGE_LINES
    tree = ast.parse(source)
    # A page defines no function a test would want to call: only cached wrappers of library calls (one
    # statement: the call) and callbacks of one statement.
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            body = [s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
            assert len(body) <= 2, f"{path.name}: {node.name} holds logic; move it into the library"
    assert not re.search(r"\bSELECT\b[\s\S]*?\bFROM\b", source, re.IGNORECASE), f"{path.name} holds SQL"


def _public_functions(tree: ast.Module):
    """Module-level public functions, and public methods of public classes."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and not item.name.startswith("_"):
                    yield f"{node.name}.{item.name}", item


@pytest.mark.parametrize(
    "path",
    [p for p in LIBRARY if str(p.relative_to(REPO)) not in LONG_ALLOWED],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_every_public_function_of_the_library_has_type_hints(path):
    missing = []
    for name, node in _public_functions(ast.parse(path.read_text(encoding="utf-8"))):
        arguments = [
            a for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs if a.arg not in ("self", "cls")
        ]
        arguments += [a for a in (node.args.vararg, node.args.kwarg) if a is not None]
        unhinted = [a.arg for a in arguments if a.annotation is None]
        is_property = any(isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list)
        if unhinted or (node.returns is None and not is_property):
            missing.append(f"{name}({', '.join(unhinted)})" + ("" if node.returns or is_property else " -> ?"))
    assert missing == []
