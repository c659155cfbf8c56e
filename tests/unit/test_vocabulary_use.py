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


CLOSE_CODES = {str(int(code)) for code in vocabulary.CloseCode}
# A close code where code handles one: `code=1013`, `"code": 1013`, `code === 4408`, `close(4410`.
LITERAL_CLOSE = re.compile(r"""(?:\bcode\b["']?\s*(?:[:=(]|===?|!==?)\s*|\bclose\(\s*)(\d{4})\b""")


def literal_close_codes(files: list[Path]) -> list[str]:
    return [
        f"{path.name}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if any(match.group(1) in CLOSE_CODES for match in LITERAL_CLOSE.finditer(line))
    ]


def test_close_codes_are_named_wherever_a_socket_is_closed_or_a_close_is_read() -> None:
    files = [
        p
        for folder in ("app", "realtime")
        for p in sorted((ROOT / folder).rglob("*.py"))
        if "migrations" not in p.parts
    ] + [p for p in sorted((ROOT / "static" / "js").glob("*.js")) if p.name != "vocabulary.js"]
    assert literal_close_codes(files) == []


def test_a_literal_close_code_is_caught(tmp_path: Path) -> None:
    server = tmp_path / "close.py"
    server.write_text('await send({"type": "websocket.close", "code": 1013})\nawait ws.close(code=4410)\n')
    page = tmp_path / "page.js"
    page.write_text("if (code === 4408) stop();\n// 4408: replaced\n")
    assert len(literal_close_codes([server, page])) == 3


def test_every_candidate_status_has_its_words_on_the_centre_page_and_in_the_proces_verbal() -> None:
    # README's "Ajouter un état du candidat", step 4: a new status without its words would
    # show its code on the centre page and in the procès-verbal.
    from app.display import CENTRE_STATUS
    from app.records import STATUS_LABELS

    assert set(CENTRE_STATUS) == set(vocabulary.CandidateStatus)
    assert set(STATUS_LABELS) == set(vocabulary.CandidateStatus)
