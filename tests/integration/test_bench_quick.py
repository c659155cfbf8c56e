"""The benchmark's quick sizes as a smoke test: every supervisor ends on the database's
state, nothing missing, nothing twice. Timings are the benchmark's business, not CI's:
this machine is shared, so no latency is asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(scenario: str, out: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", scenario, "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())["scenarios"][scenario]


@pytest.mark.parametrize("scenario", ["exam-day", "two-processes"])
def test_quick_run_is_complete(scenario: str, tmp_path: Path) -> None:
    result = _run(scenario, tmp_path / "result.json")
    completeness = result["completeness"]
    assert completeness["complete"], completeness
    assert completeness["verdicts"] == {"equal": completeness["dashboards_checked"]}
    assert completeness["dashboards_checked"] == result["shape"]["supervisors"]
    assert completeness["version_gaps_seen_by_clients"] == 0
    assert completeness["duplicates_seen_by_clients"] == 0
    assert completeness["event_log_contiguous"] is True
    assert completeness["answer_errors"] == 0
    latency = result["latency"]
    assert latency["answers"] > 0
    assert latency["missing_deliveries"] == 0


def test_quick_cross_process_times_every_action_on_both_processes(tmp_path: Path) -> None:
    """`python -m bench cross-process --quick`: each pause or resume is matched to its version
    in the event log and reaches every dashboard of its session, on both processes."""
    result = _run("cross-process", tmp_path / "result.json")
    completeness = result["completeness"]
    assert completeness["complete"], completeness
    assert completeness["dashboards_checked"] == result["shape"]["supervisors"]
    assert completeness["event_log_contiguous"] is True
    delivery = result["delivery"]
    assert delivery["actions"] == delivery["acknowledged"] == delivery["matched_to_the_event_log"] > 0
    assert delivery["unmatched"] == 0
    assert delivery["expected_deliveries"]["other_process"] > 0
    assert delivery["missing_deliveries"] == {"other_process": 0, "same_process": 0}
    assert delivery["other_process_ms"]["count"] == delivery["expected_deliveries"]["other_process"]
    assert result["targets"]["zero_loss"] is True



def test_quick_cross_floor_delivers_every_action_on_both_processes(tmp_path: Path) -> None:
    """`python -m bench cross-floor --quick`, the floor of scenario 9: the same actions on two
    bare processes reach every dashboard of their session, versions contiguous."""
    result = _run("cross-floor", tmp_path / "result.json")
    delivery = result["delivery"]
    assert delivery["actions"] == delivery["acknowledged"] == delivery["matched_to_the_event_log"] > 0
    assert delivery["missing_deliveries"] == {"other_process": 0, "same_process": 0}
    assert delivery["other_process_ms"]["count"] == delivery["expected_deliveries"]["other_process"] > 0
    assert result["completeness"]["complete"], result["completeness"]
    assert result["targets"]["zero_loss"] is True


def test_quick_wakeups_times_each_piece_both_ways(tmp_path: Path) -> None:
    result = _run("wakeups", tmp_path / "result.json")
    pieces = [k for k in result if k.endswith("_ms")]
    assert sorted(pieces) == ["postgresql_select_ms", "postgresql_update_commit_ms", "redis_publish_ms", "thread_hop_ms"]
    for piece in pieces:
        assert result[piece]["back_to_back"]["count"] == result[piece]["after_idle"]["count"] == 20
