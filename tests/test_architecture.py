"""The layout's contracts: import-linter's rooms and layers, no import cycles, modules short enough to read."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
LONGEST_MODULE = 560  # lines: about 500 for a room's module, a little more for the composer (main_window)
LINT_IMPORTS = (
    "import sys; from importlinter.cli import lint_imports_command; "
    "sys.argv[0] = 'lint-imports'; lint_imports_command()"
)


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    """Run lint-imports on the packages in ``tree`` with the contracts of its pyproject.toml."""
    return subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=180,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "HOME": str(tree)},
    )


def test_the_import_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        ("ml/errors.py", "import PySide6", "ml is pure"),
        ("ml/preprocess/read.py", "import ml.training.fit", "ml by stage"),
        ("app/draw/canvas.py", "import app.train.panel", "app: the composer"),
        ("app/common/images.py", "import app.models.controller", "app: the composer"),
    ],
    ids=["ml-imports-qt", "preprocess-imports-training", "room-imports-room", "common-imports-models"],
)
def test_a_broken_contract_fails(tmp_path, module, bad_import, contract):
    for name in ("app", "ml"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{bad_import}  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "1 broken" in result.stdout
    assert contract in result.stdout.split("Broken contracts")[1]  # the contract that names this room


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm).

    Imports for type annotations only (under ``TYPE_CHECKING``) are left out of the graph: they never run.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def test_no_import_cycles_among_the_projects_modules():
    assert import_cycles(grimp.build_graph("app", "ml", cache_dir=None, exclude_type_checking_imports=True)) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path, monkeypatch):
    package = tmp_path / "circle"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "one.py").write_text("from circle import two\n")
    (package / "two.py").write_text("def later():\n    from circle import one\n")
    (package / "three.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from circle import four\n"
    )
    (package / "four.py").write_text("from circle import three\n")  # a cycle for type annotations only
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles(grimp.build_graph("circle", cache_dir=None, exclude_type_checking_imports=True)) == [
        ["circle.one", "circle.two"]
    ]


def test_every_module_is_short_enough_to_read_in_one_sitting():
    lengths = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for folder in ("app", "ml")
        for path in (ROOT / folder).rglob("*.py")
    }
    assert {path: lines for path, lines in lengths.items() if lines > LONGEST_MODULE} == {}
