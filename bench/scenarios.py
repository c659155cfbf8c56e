"""The eight scenarios of the benchmark issue. Each returns a JSON-able dict."""

from __future__ import annotations

from typing import Any

from bench.rig import Rig, Shape, log


def _targets(
    latency: dict[str, Any], completeness: dict[str, Any], p50: float = 10.0, p99: float = 50.0
) -> dict[str, Any]:
    lat = latency["latency_ms"]
    return {
        f"p50<={p50:g}ms": bool(lat.get("count")) and lat["p50"] <= p50,
        f"p99<={p99:g}ms": bool(lat.get("count")) and lat["p99"] <= p99,
        "zero_loss": latency["missing_deliveries"] == 0 and completeness["complete"],
    }


def exam_day_shape(quick: bool, **changes: Any) -> Shape:
    if quick:
        shape = Shape(sessions=10, candidates_per_session=10, supervisors_per_session=3, duration=10.0)
    else:
        shape = Shape()
    for key, value in changes.items():
        setattr(shape, key, value)
    return shape


async def steady(shape: Shape, label: str) -> dict[str, Any]:
    """Answers at the set rate for the whole window, then the completeness check."""
    rig = Rig(shape, label)
    try:
        await rig.up()
        log(f"answering for {shape.duration:g}s at {shape.candidates / shape.period:g} answers/s")
        t0, t1, usage = await rig.answer_for(shape.duration)
        completeness = await rig.completeness()
        results = await rig.results()
        latency = rig.latency(results, (t0, t1))
        return {
            "shape": shape.describe(),
            "latency": latency,
            "usage": usage,
            "completeness": completeness,
            "targets": _targets(latency, completeness),
        }
    finally:
        await rig.down()


async def exam_day(quick: bool, database: str = "postgresql") -> dict[str, Any]:
    """1. One process, PostgreSQL, in-memory broker."""
    return await steady(exam_day_shape(quick, database=database), "s1")


async def two_processes(quick: bool) -> dict[str, Any]:
    """2. Two app processes sharing PostgreSQL, Redis pub/sub between them."""
    return await steady(exam_day_shape(quick, app_processes=2, redis=True), "s2")
