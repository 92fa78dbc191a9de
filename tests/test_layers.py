"""Imports go one way, down the layers; read from every module's source with ``ast``.

crystal | xrd  <  data  <  models  <  uq  <  explain  <  callbacks  <  training  <
inference  <  evaluation  <  report  <  cli. ``crystal`` and ``xrd`` are siblings (neither
imports the other); ``models`` never imports ``data`` (nor anything above it); nothing but the CLI
imports the CLI. Top-level modules (``errors``, ``fileio``, ``heap``) are below everything:
they import only each other. Relative imports are resolved against the importing file.
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
#: the layer of the package's top-level modules, below every folder
BASE = ""
RANK[BASE] = -1
#: pairs forbidden although the order alone would allow them
FORBIDDEN = {("models", "data")}
#: known exceptions (file, imported module) → reason; each is a defect to remove
ALLOWED: dict[tuple[str, str], str] = {}


def layer_of(module: str) -> str | None:
    """``bxrd.uq.base`` → ``uq``; top-level modules (``bxrd.errors``) → :data:`BASE`."""
    parts = module.split(".")
    if parts[0] != "bxrd" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in RANK else BASE


def imports_of(path: Path, source: str | None = None) -> set[str]:
    """Every ``bxrd`` module imported by a file (top level, functions and TYPE_CHECKING).

    ``source``: the file's text (default: read from ``path``).
    """
    tree = ast.parse(path.read_text(encoding="utf-8") if source is None else source)
    package = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            module = ".".join(m for m in (base, node.module) if m)
            if node.module is None or module in ("bxrd", *(f"bxrd.{n}" for n in RANK)):
                found |= {f"{module}.{a.name}" for a in node.names}  # submodules, or names
            found.add(module)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # import_module("bxrd.x.y") and "bxrd.x.y:func" targets
            text = node.value.split(":")[0]
            if text.startswith("bxrd.") and " " not in text:
                found.add(text)
    return {m for m in found if m.startswith("bxrd.")}


def violations(path: Path, source: str | None = None) -> list[str]:
    name = str(path.relative_to(PACKAGE))
    here = layer_of(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
    out = []
    for module in sorted(imports_of(path, source)):
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


@pytest.mark.parametrize(
    ("where", "source", "caught"),
    [
        (
            "models",
            "from bxrd.data.store import x\nimport bxrd.cli\nfrom bxrd.xrd import grid\n",
            2,
        ),
        ("models", "from ..uq import base\nfrom .. import cli\nfrom . import vgg1d\n", 2),
        ("uq", "def f():\n    from ...bxrd import x\n    from ..inference.pipeline import y\n", 1),
        (".", "from bxrd.cli import run\nfrom .errors import BxrdInputError\n", 1),
        ("uq/__init__", "from ..inference import pipeline\nfrom . import base\n", 1),
    ],
)
def test_the_check_catches_an_upward_import(where, source, caught):
    """Probes are checked as if they were files of the package; none is written."""
    name = f"{where}.py" if where.endswith("__init__") else f"{where}/_probe_upward.py"
    found = violations(PACKAGE / name, source)
    assert len({line.split(" imports bxrd.")[1].split(".")[0] for line in found}) == caught, found
