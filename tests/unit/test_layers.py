"""The folders' rules, as README's "Architecture" states them, checked on the imports.

`realtime/` knows ids and JSON, not the app; `vocabulary/` is imported by both and imports
neither; routes parse and answer, the SQL is in the actions; and no module reaches into
another's private names (a `_helper` is its module's own, free to change).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = ("app", "realtime", "vocabulary")


def modules(folder: str) -> list[Path]:
    return [p for p in sorted((ROOT / folder).rglob("*.py")) if "migrations" not in p.parts]


def imported(path: Path) -> set[str]:
    """Every module name the file imports, in full (`from app.actions import guards`: both
    `app.actions` and `app.actions.guards`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def importing(folder: str, prefixes: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}: {name}"
        for path in modules(folder)
        for name in sorted(imported(path))
        if name.split(".")[0] in prefixes
    ]


def private(name: str) -> bool:
    # `_` is gettext's public name, as everywhere.
    return name.startswith("_") and not name.startswith("__") and name != "_"


def private_reaches(path: Path) -> list[str]:
    """`module._name` on a module of ours, or `from ours import _name`."""
    tree = ast.parse(path.read_text())
    ours: set[str] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
                    ours.update(a.asname for a in node.names if a.name.split(".")[0] in OURS and a.asname)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in OURS:
            for alias in node.names:
                if private(alias.name):
                    found.append(f"{path.name}:{node.lineno}: from {node.module} import {alias.name}")
                ours.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in ours
            and private(node.attr)
        ):
            found.append(f"{path.name}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_realtime_knows_nothing_of_the_app() -> None:
    assert importing("realtime", ("app",)) == []


def test_the_vocabulary_imports_neither_the_app_nor_realtime() -> None:
    assert importing("vocabulary", ("app", "realtime")) == []


def test_routes_hold_no_sql() -> None:
    assert importing("app/routes", ("sqlalchemy", "sqlmodel")) == []


def test_no_module_reaches_into_another_modules_private_names() -> None:
    found = [line for folder in OURS for path in modules(folder) for line in private_reaches(path)]
    assert found == []


def test_a_private_reach_is_caught(tmp_path: Path) -> None:
    route = tmp_path / "route.py"
    route.write_text(
        "from app.actions import guards\nfrom app.actions.guards import _lock\n\nguards._require_member(db, 1, 2)\n"
    )
    assert len(private_reaches(route)) == 2
