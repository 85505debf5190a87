"""The package's shape: the dependency rule between its layers, pyproject's package list, and
the guard against loading a layer's folder under its own name.

The rule (docs/architecture.md): models ← executor ← checker ← txlanes — a layer imports only
itself and the layers below it, so models/ imports nothing of the others.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
#: Bottom to top; a module belongs to the longest of these that prefixes its name.
LAYERS = ("txlanes.models", "txlanes.executor", "txlanes.checker", "txlanes")
#: Folder of the repository → the package it is: pyproject's remapped roots, and txlanes/.
FOLDERS = {"txlanes": "txlanes"} | {d: p for p, d in SETUPTOOLS["package-dir"].items()}


def layer(module: str) -> str | None:
    """The layer ``module`` is in; None for anything outside txlanes."""
    within = [n for n in LAYERS if module == n or module.startswith(n + ".")]
    return max(within, key=len) if within else None


def modules() -> dict[str, Path]:
    """Every module of the package (its dotted name) → its file."""
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = [package, *path.relative_to(ROOT / folder).with_suffix("").parts]
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(module: str, path: Path, known: set[str]) -> list[tuple[int, str, str]]:
    """``(line, imported module, statement)`` for every import in the file — in functions and
    under ``if TYPE_CHECKING:`` too — with relative imports resolved against its package."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")
                assert node.level <= len(up), f"{path}:{node.lineno}: beyond the top package"
                base = ".".join([*up[: len(up) - node.level + 1], *filter(None, [node.module])])
            # `from txlanes import checker` imports a package: count the name, not its parent
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]  # fmt: skip
        else:
            continue
        found += [(node.lineno, t, ast.unparse(node)) for t in dict.fromkeys(targets)]
    return found


def test_no_layer_imports_a_layer_above_it() -> None:
    found = modules()
    violations = []
    for module, path in found.items():
        here = layer(module)
        assert here is not None
        for line, target, statement in imported(module, path, set(found)):
            there = layer(target)
            if there is not None and LAYERS.index(there) > LAYERS.index(here):
                violations.append(
                    f"{path.relative_to(ROOT)}:{line}: {here} imports {there}, a layer above it:"
                    f" {statement}"
                )
    if violations:
        pytest.fail(
            "the layers are models ← executor ← checker ← txlanes (docs/architecture.md):\n"
            + "\n".join(violations),
            pytrace=False,
        )


def test_pyproject_lists_every_package_on_disk() -> None:
    on_disk = set()
    for folder, package in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            on_disk.add(".".join([package, *init.parent.relative_to(ROOT / folder).parts]))
    listed = SETUPTOOLS["packages"]
    assert sorted(set(listed)) == sorted(listed), "pyproject.toml lists a package twice"
    assert set(listed) == on_disk, (
        f"pyproject.toml's packages miss {sorted(on_disk - set(listed))} (folders with an"
        f" __init__.py) and list {sorted(set(listed) - on_disk)} (no such folder)"
    )
    without_init = sorted(
        str(d.relative_to(ROOT))
        for folder in FOLDERS
        for d in {p.parent for p in (ROOT / folder).rglob("*.py")}
        if not (d / "__init__.py").exists()
    )
    assert without_init == [], f"folders of modules without an __init__.py: {without_init}"


@pytest.mark.parametrize("folder", sorted(set(FOLDERS) - {"txlanes"}))
def test_a_layer_loaded_under_its_folder_name_says_what_to_import(folder: str) -> None:
    package = FOLDERS[folder]
    done = subprocess.run(
        [sys.executable, "-c", f"import {folder}"],
        cwd=ROOT,  # the repository root on sys.path, as pytest has it
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    said = f"ImportError: import {package}, not '{folder}' (a second copy: other classes)"
    assert said in done.stderr, done.stderr
