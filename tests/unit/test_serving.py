"""The serving process's garbage collector: frozen after the app is built, young generation
collected rarely (app/serving.py says why); apps built in tests keep CPython's defaults."""

from __future__ import annotations

import gc
import json
import subprocess
import sys

from app.main import create_app
from app.serving import YOUNG_THRESHOLD

PROBE = """
import gc, json
from app.serving import create_served_app
app = create_served_app()
print(json.dumps({"frozen": gc.get_freeze_count(), "threshold": gc.get_threshold()}))
"""


def test_the_served_app_freezes_what_exists_and_collects_the_young_rarely(tmp_path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite"},
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    # Modules, templates and settings: tens of thousands of objects no collection walks again.
    assert seen["frozen"] > 20_000
    assert seen["threshold"][0] == YOUNG_THRESHOLD


def test_an_app_built_in_process_leaves_the_collector_alone() -> None:
    before = (gc.get_freeze_count(), gc.get_threshold())
    create_app()
    assert (gc.get_freeze_count(), gc.get_threshold()) == before
