"""The pages' words (static/js/vocabulary.js) are the server's (the `vocabulary` package)."""

from __future__ import annotations

import json
import shutil
import subprocess
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

import vocabulary

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "static" / "js" / "vocabulary.js"
ENUMS: list[type[Enum]] = [
    vocabulary.CandidateStatus,
    vocabulary.SessionStatus,
    vocabulary.Connection,
    vocabulary.EventName,
    vocabulary.Action,
    vocabulary.BulkAction,
    vocabulary.MessageType,
    vocabulary.CloseCode,
    vocabulary.AlertStatus,
    vocabulary.AlertCategory,
    vocabulary.ReportCategory,
    vocabulary.ReportOrigin,
]


def exports(module: Path) -> dict[str, Any]:
    """What the ES module exports, as node itself loads it (no parsing of JS by hand)."""
    node = shutil.which("node")
    assert node, "node is needed (Debian package nodejs), as for `node --test tests/js/`"
    script = (
        f"const m = await import({json.dumps(module.as_uri())});"
        "process.stdout.write(JSON.stringify(Object.fromEntries("
        "Object.entries(m).filter(([, v]) => typeof v !== 'function'))));"
    )
    done = subprocess.run(
        [node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30, check=True
    )
    return dict(json.loads(done.stdout))


@pytest.fixture(scope="module")
def js() -> dict[str, Any]:
    return exports(MODULE)


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_each_enum_is_mirrored_member_for_member(js: dict[str, Any], enum: type[Enum]) -> None:
    assert js.get(enum.__name__) == {member.name: member.value for member in enum}


def test_the_ended_statuses_are_the_same(js: dict[str, Any]) -> None:
    assert sorted(js["ENDED"]) == sorted(vocabulary.ENDED)


def test_the_module_exports_nothing_the_server_does_not_know(js: dict[str, Any]) -> None:
    assert set(js) == {e.__name__ for e in ENUMS} | {"ENDED"}


def test_a_drifted_value_is_caught(tmp_path: Path) -> None:
    # The check reads what node reads: a one-letter change in the module is a difference.
    drifted = tmp_path / "vocabulary.js"
    drifted.write_text(MODULE.read_text().replace('"in_progress"', '"en_cours"'))
    mirrored = exports(drifted)["CandidateStatus"]
    assert mirrored != {m.name: m.value for m in vocabulary.CandidateStatus}


def test_the_server_closes_with_these_codes() -> None:
    from app.routes import live
    from realtime import hub, sockets

    codes = vocabulary.CloseCode
    assert (live.CLOSE_POLICY, live.CLOSE_NOT_LOGGED_IN, live.CLOSE_NO_ACCESS) == (
        codes.POLICY,
        codes.NOT_LOGGED_IN,
        codes.NO_ACCESS,
    )
    assert (sockets.CLOSE_POLICY, sockets.CLOSE_TOO_BIG, sockets.CLOSE_INTERNAL) == (
        codes.POLICY,
        codes.TOO_BIG,
        codes.INTERNAL,
    )
    assert hub.OVERFLOW_CLOSE_CODE == codes.TRY_AGAIN
