"""SECURITY.md names, for each threat, the test that shows its defence: a renamed or deleted
test must not leave the document pointing at nothing (issue 11 asks that each fix be written
there with its test)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `tests/x.py`, `tests/x.py::test_name`, `tests/x.py::test_name[param]`, or `::test_name`
# (then in the file named last before it, as the tables write a second test of one file).
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)?(?:::(\w+)(?:\[[^\]]*\])?)?`")


def _references() -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    current: str | None = None
    for match in REFERENCE.finditer((ROOT / "SECURITY.md").read_text(encoding="utf-8")):
        path, name = match.groups()
        if path:
            current = path
        if (path or name) and current:
            found.append((current, name))
    return found


def _functions(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_every_test_named_in_security_md_exists() -> None:
    references = _references()
    assert len(references) > 100  # the pattern still reads the tables
    missing = []
    known: dict[str, set[str]] = {}
    for path, name in references:
        if not (ROOT / path).is_file():
            missing.append(path)
        elif name is not None and name not in known.setdefault(path, _functions(path)):
            missing.append(f"{path}::{name}")
    assert not missing, missing
