"""Dependencies run one way (DESIGN.md "Dependencies"), read from the import statements."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# package -> what it must never import (the composition root is exempt)
FORBIDDEN = {"client": {"network"}, "anonymizer": {"client", "network", "web"},
             "web": {"network"}}
COMPOSITION_ROOT = ROOT / "client" / "cli.py"


def imported_packages(path: Path) -> set[str]:
    """Top-level Traza packages a module imports (absolute imports; relative stay inside)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def test_the_scan_sees_imports_anywhere_in_a_module(tmp_path):
    mod = tmp_path / "m.py"
    mod.write_text("def f():\n    from network.topology import load\n    import web.app\n"
                   "from . import sibling\n")
    assert imported_packages(mod) == {"network", "web"}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_package_imports_against_the_flow(package):
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != COMPOSITION_ROOT
    }
    assert {k: v for k, v in wrong.items() if v} == {}
