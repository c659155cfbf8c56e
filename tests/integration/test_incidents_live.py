"""Alerts live, across real uvicorn processes: every supervisor hears the alert, the first
decision wins even when two processes decide at the same instant, and the candidate's
page hears the decision by push."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.integration.conftest import Cluster, _close, plan_day
from tests.live import Candidate, SupervisorFeed

pytestmark = pytest.mark.slow


async def test_an_alert_reaches_every_supervisor_and_its_decision_the_candidate(cluster: Cluster) -> None:
    day = await plan_day(cluster, candidates=2)
    sid = day.session["id"]
    cid = day.ids["CANDIDAT000"]
    feed_a = await SupervisorFeed.open(cluster.a.ws_url, sid, day.marie, cluster.a.url)
    feed_b = await SupervisorFeed.open(cluster.b.ws_url, sid, day.pierre, cluster.b.url)
    r = await day.pierre.post(f"/api/supervision/sessions/{sid}/candidates/{cid}/presence", json={"authorized": True})
    assert r.status_code == 200
    paul = Candidate(cluster.b.url, day.session, "CANDIDAT000", "Prenom0", "2000-01-01")
    assert (await paul.join()).status_code == 200
    assert (await paul.start()).status_code == 201
    await paul.connect(cluster.b.ws_url)
    state = (await paul.http.get("/api/candidate/test")).json()
    broken = state["question"]["id"]

    sent = time.monotonic()
    r = await paul.http.post("/api/candidate/alerts", json={"question_id": broken, "category": "image"})
    assert r.status_code == 201, r.text
    alert = r.json()["candidate"]["alert"]
    for feed in (feed_a, feed_b):
        await feed.wait(lambda f: (f.candidates[cid].get("alert") or {}).get("id") == alert["id"])
        [raised] = [m for m in feed.messages if m.get("action") == "alert_raised"]
        assert raised["alert"] == alert and raised["actor"] == {"name": "Prenom0 CANDIDAT000"}
        # From the candidate's click to each supervisor's socket, either process (generous bound).
        latency = feed.received_at[raised["version"]] - sent
        print(f"alert → supervisor feed: {latency * 1000:.1f} ms")
        assert latency < 1.0
    await paul.wait_message(lambda m: m["type"] == "candidate" and (m["candidate"]["alert"] or {}).get("id") == alert["id"])

    # Marie decides on process A; Pierre, on process B, is too late and is told by whom.
    r = await day.marie.post(f"/api/supervision/sessions/{sid}/alerts/{alert['id']}/validate")
    assert r.status_code == 200, r.text
    r = await day.pierre.post(f"/api/supervision/sessions/{sid}/alerts/{alert['id']}/refuse")
    assert r.status_code == 409
    assert r.json()["error"] == {"code": "ALERT_ALREADY_HANDLED", "message": "Marie Curie a déjà traité ce signalement."}
    for feed in (feed_a, feed_b):
        await feed.wait(lambda f: f.candidates[cid]["alert"] is None)
        [decided] = [m for m in feed.messages if m.get("action") == "alert_validated"]
        assert decided["actor"] == {"name": "Marie Curie"} and decided["alert"]["status"] == "validated"
        assert decided["report"]["origin"] == "alert" and decided["candidate"]["reports_count"] == 1
    # The candidate's socket hears it without asking; its next read shows the new question.
    await paul.wait_message(
        lambda m: m["type"] == "candidate" and m["candidate"]["alert"] is None and m["version"] > raised["version"]
    )
    # Its socket never carries the supervisors' report count.
    assert all("reports_count" not in m["candidate"] for m in paul.messages if m.get("candidate"))
    after = (await paul.http.get("/api/candidate/test")).json()
    assert after["question"]["id"] != broken and after["candidate"]["progress"]["total"] == 16

    # The refused path: Pierre, on process B, refuses the next one; the question stays.
    r = await paul.http.post("/api/candidate/alerts", json={"question_id": after["question"]["id"], "category": "link"})
    assert r.status_code == 201, r.text
    second = r.json()["candidate"]["alert"]
    for feed in (feed_a, feed_b):
        await feed.wait(lambda f: (f.candidates[cid].get("alert") or {}).get("id") == second["id"])
    r = await day.pierre.post(f"/api/supervision/sessions/{sid}/alerts/{second['id']}/refuse")
    assert r.status_code == 200, r.text
    for feed in (feed_a, feed_b):
        await feed.wait(lambda f: f.candidates[cid]["alert"] is None)
        [refused] = [m for m in feed.messages if m.get("action") == "alert_refused"]
        assert refused["actor"] == {"name": "Pierre Curie"} and refused["alert"]["status"] == "refused"
        assert refused["candidate"]["reports_count"] == 2
    await paul.wait_message(
        lambda m: m["type"] == "candidate" and m["candidate"]["alert"] is None and m["version"] == refused["version"]
    )
    assert (await paul.http.get("/api/candidate/test")).json()["question"] == after["question"]

    # The log holds every step, in order, each with its actor.
    url = cluster.env["DATABASE_URL"]
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT payload, actor_name FROM session_event WHERE session_id = :s AND candidate_id = :c ORDER BY version"),
            {"s": sid, "c": cid},
        ).all()
    engine.dispose()
    steps = [(json.loads(p)["action"], actor) for p, actor in rows]
    incident = [step for step in steps if step[0].startswith("alert_")]
    assert incident == [
        ("alert_raised", "Prenom0 CANDIDAT000"),
        ("alert_validated", "Marie Curie"),
        ("alert_raised", "Prenom0 CANDIDAT000"),
        ("alert_refused", "Pierre Curie"),
    ]
    await feed_a.close()
    await feed_b.close()
    await paul.close()
    await _close(cluster)


async def _at(go: asyncio.Event, client: httpx.AsyncClient, path: str) -> httpx.Response:
    await go.wait()
    return await client.post(path)


async def test_two_processes_deciding_at_the_same_instant_have_exactly_one_winner(cluster: Cluster) -> None:
    day = await plan_day(cluster, candidates=1)
    sid = day.session["id"]
    cid = day.ids["CANDIDAT000"]
    await day.pierre.post(f"/api/supervision/sessions/{sid}/candidates/{cid}/presence", json={"authorized": True})
    paul = Candidate(cluster.a.url, day.session, "CANDIDAT000", "Prenom0", "2000-01-01")
    assert (await paul.join()).status_code == 200
    assert (await paul.start()).status_code == 201
    # Marie's client talks to process A, Pierre's to process B (same database, same lock).
    for round_ in range(4):
        qid = (await paul.http.get("/api/candidate/test")).json()["question"]["id"]
        r = await paul.http.post("/api/candidate/alerts", json={"question_id": qid, "category": "display"})
        assert r.status_code == 201, r.text
        aid = r.json()["candidate"]["alert"]["id"]
        verbs = ("validate", "refuse") if round_ % 2 else ("refuse", "validate")
        go = asyncio.Event()
        path = f"/api/supervision/sessions/{sid}/alerts/{aid}"
        tasks = [
            asyncio.create_task(_at(go, day.marie, f"{path}/{verbs[0]}")),
            asyncio.create_task(_at(go, day.pierre, f"{path}/{verbs[1]}")),
        ]
        await asyncio.sleep(0.05)
        go.set()
        results = await asyncio.gather(*tasks)
        codes = sorted(r.status_code for r in results)
        assert codes == [200, 409], [r.text for r in results]
        winner = next(r for r in results if r.status_code == 200).json()
        loser = next(r for r in results if r.status_code == 409).json()
        assert loser["error"]["message"] == f"{winner['alert']['decided_by']['name']} a déjà traité ce signalement."
    snap = (await day.marie.get(f"/api/supervision/sessions/{sid}")).json()
    # One report per decision, never two for the same alert.
    assert len(snap["reports"]) == 4
    assert len({r["alert_id"] for r in snap["reports"]}) == 4
    await paul.close()
    await _close(cluster)
