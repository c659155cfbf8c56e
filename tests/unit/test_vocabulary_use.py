"""The shared words are compared through the vocabulary, not retyped as strings.

A status, action or event name compared with a bare string ("in_progress", "finalized")
keeps working until the word changes, then silently never matches: the enums of
`vocabulary` (and their mirror static/js/vocabulary.js) are the one place to write them.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import vocabulary

ROOT = Path(__file__).resolve().parents[2]
# The words of states and happenings; the report kinds are data, and the message types'
# words ("message", "error") are also the protocol's own elsewhere (a Redis reply kind).
ENUMS: list[type[StrEnum]] = [
    vocabulary.CandidateStatus,
    vocabulary.SessionStatus,
    vocabulary.Connection,
    vocabulary.EventName,
    vocabulary.Action,
    vocabulary.AlertStatus,
    vocabulary.AlertCategory,
]
WORDS = {member.value for enum in ENUMS for member in enum}
_QUOTED = r"""(["'])([a-z_.]+)\1"""
PYTHON = re.compile(rf"(?:==|!=)\s*{_QUOTED}|{_QUOTED}\s*(?:==|!=)")
# A page's own steps ("paused" is a step of the candidate page as well as an action) are not the server's words.
JAVASCRIPT = re.compile(rf"(?<!\.step )(?:===|!==)\s*{_QUOTED}|{_QUOTED}\s*(?:===|!==)")


def bare_comparisons(files: list[Path], pattern: re.Pattern[str]) -> list[str]:
    found = []
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for match in pattern.finditer(line):
                word = match.group(2) or match.group(4)
                if word in WORDS:
                    found.append(f"{path.name}:{number}: {line.strip()}")
    return found


def test_the_server_compares_shared_words_through_the_enums() -> None:
    files = [
        p
        for folder in ("app", "realtime")
        for p in sorted((ROOT / folder).rglob("*.py"))
        if "migrations" not in p.parts
    ]
    assert bare_comparisons(files, PYTHON) == []


def test_the_pages_compare_shared_words_through_vocabulary_js() -> None:
    files = [p for p in sorted((ROOT / "static" / "js").glob("*.js")) if p.name != "vocabulary.js"]
    assert bare_comparisons(files, JAVASCRIPT) == []


def test_a_bare_status_is_caught(tmp_path: Path) -> None:
    page = tmp_path / "page.js"
    page.write_text('if (c.status === "in_progress") start();\nif (state.step === "paused") wait();\n')
    server = tmp_path / "rule.py"
    server.write_text('if view.get("connection") == "lost":\n    pass\n')
    assert len(bare_comparisons([page], JAVASCRIPT)) == 1
    assert len(bare_comparisons([server], PYTHON)) == 1
