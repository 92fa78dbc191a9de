"""Imports go one way, down the layers; read from every module's source with ``ast``.

crystal | xrd  <  data  <  models  <  uq  <  explain  <  callbacks  <  training  <
inference  <  evaluation  <  report  <  cli. ``crystal`` and ``xrd`` are siblings (neither
imports the other); ``models`` never imports ``data`` (nor anything above it); nothing but the CLI
imports the CLI. Top-level modules (``errors``, ``fileio``) are below everything.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bxrd"
ORDER = [
    {"crystal", "xrd"},
    {"data"},
    {"models"},
    {"uq"},
    {"explain"},
    {"callbacks"},
    {"training"},
    {"inference"},
    {"evaluation"},
    {"report"},
    {"cli"},
]
RANK = {name: i for i, layer in enumerate(ORDER) for name in layer}
#: pairs forbidden although the order alone would allow them
FORBIDDEN = {("models", "data")}
#: known exceptions (file, imported module) → reason; each is a defect to remove
ALLOWED: dict[tuple[str, str], str] = {}


def layer_of(module: str) -> str | None:
    """``bxrd.uq.base`` → ``uq``; top-level modules (``bxrd.errors``) have no layer."""
    parts = module.split(".")
    if parts[0] != "bxrd" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in RANK else None


def imports_of(path: Path) -> set[str]:
    """Every ``bxrd`` module imported by a file (top level, functions and TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "bxrd":
                found |= {f"bxrd.{a.name}" for a in node.names}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # import_module("bxrd.x.y") and "bxrd.x.y:func" targets
            text = node.value.split(":")[0]
            if text.startswith("bxrd.") and " " not in text:
                found.add(text)
    return {m for m in found if m.startswith("bxrd.")}


def violations(path: Path) -> list[str]:
    name = str(path.relative_to(PACKAGE))
    here = layer_of(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
    out = []
    for module in sorted(imports_of(path)):
        there = layer_of(module)
        if there is None or here is None or here == there:
            continue
        if (name, module) in ALLOWED:
            continue
        sibling_cross = {here, there} == {"crystal", "xrd"}
        if RANK[there] > RANK[here] or sibling_cross or (here, there) in FORBIDDEN:
            out.append(f"{path.relative_to(PACKAGE.parent)}: {here} imports {module}")
    return out


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_layers_are_known():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders <= set(RANK), f"place {sorted(folders - set(RANK))} in ORDER"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_upward_import(path):
    assert not violations(path)


def test_the_check_catches_an_upward_import(tmp_path):
    bad = PACKAGE / "models" / "_probe_upward.py"
    bad.write_text("from bxrd.data.store import x\nimport bxrd.cli\nfrom bxrd.xrd import grid\n")
    try:
        found = violations(bad)
    finally:
        bad.unlink()
    assert len(found) == 2
