"""The packages' import rules (docs/architecture.md, "Parts and their rooms"), checked on the
source: every import statement, also those inside functions, of every module.

- ``contracts`` (the torch-free core) imports none of the project's other packages, nor torch;
- ``chip`` (step 2) never imports ``cim``, ``models`` or torch;
- ``cim`` (step 1) never imports ``chip``;
- ``models`` imports no hardware package;
- ``neuropysim`` (workflows across both steps) may import both steps; no step imports it;
- no package module reads the user's ``inferenceConfig.py``: only the two command lines
  (``inference_sim.py``, ``Chip.py``) do, and pass its values in.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "contracts": {"chip", "cim", "models", "torch", "inferenceConfig", "from_neurosim",
                  "neuropysim"},
    "chip": {"cim", "models", "torch", "inferenceConfig", "neuropysim"},
    "cim": {"chip", "inferenceConfig", "neuropysim"},
    "models": {"chip", "cim", "inferenceConfig", "neuropysim"},
    "neuropysim": {"inferenceConfig"},
}


def imported_roots(path: Path) -> set[tuple[str, int]]:
    """(top-level module, line) of every absolute import in a file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {(alias.name.split(".")[0], node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module.split(".")[0], node.lineno))
    return found


def back_edges(package: str) -> list[str]:
    edges = []
    for path in sorted((REPO / package).rglob("*.py")):
        for root, line in sorted(imported_roots(path)):
            if root in FORBIDDEN[package]:
                edges.append(f"{path.relative_to(REPO)}:{line} imports {root}")
    return edges


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_back_edges(package):
    assert back_edges(package) == []


def test_the_checker_sees_function_level_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os\n\ndef f():\n    from chip.config import X\n    import torch.nn\n")
    assert {root for root, _ in imported_roots(module)} == {"os", "chip", "torch"}
