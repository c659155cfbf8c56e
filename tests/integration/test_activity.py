"""The activity feed a freshly opened dashboard receives: connection losses are in it,
once per run of a flapping network, and a first connection is not news."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import text
from sqlmodel import Session

from app.actions import presence
from tests.conftest import World
from tests.integration.test_incidents import open_room


async def test_connection_losses_reach_the_feed_coalesced(world: World) -> None:
    room = await open_room(world)
    s = world.services
    pid = room.ids["Paul"]

    # Presence counts the current join's browser only.
    with s.db.engine.connect() as conn:
        join = int(conn.execute(text("SELECT join_token FROM candidate WHERE id = :c"), {"c": pid}).scalar_one())

    async def connect() -> None:
        await s.db.write(lambda tx: presence.candidate_connected(tx, room.sid, pid, join, s.rules))

    async def lose() -> None:
        with s.db.engine.begin() as conn:
            conn.execute(text("UPDATE candidate SET lease_until = '2000-01-01 00:00:00' WHERE id = :c"), {"c": pid})
        await s.db.write(lambda tx: presence.expire_leases(tx, room.sid, s.rules))

    await connect()
    recent = (await room.marie.get(room.sup(""))).json()["recent_events"]
    assert [e["action"] for e in recent if e["action"] in ("connected", "connection_lost")] == []
    for _ in range(3):  # a flapping network: lost, back, lost, back, lost, back
        await lose()
        await connect()
    recent = (await room.marie.get(room.sup(""))).json()["recent_events"]
    told = [(e["action"], e["candidate"]["id"]) for e in recent if e["action"] in ("connected", "connection_lost")]
    # The run's first loss and its latest change: two lines for the client to merge into one.
    assert told == [("connection_lost", pid), ("connected", pid)]
    # The supervisors' own lines are still there, in order.
    assert recent[-1]["action"] == "connected"
    assert any(e["action"] == "started" for e in recent)


async def test_one_renewal_covers_exactly_the_current_joins_and_accesses(world: World) -> None:
    """The batched renewal touches the pairs it is given and no other row, on both databases."""
    room = await open_room(world)
    s = world.services
    paul, simon = room.ids["Paul"], room.ids["Simon"]
    marie = int((await room.marie.get("/api/me")).json()["user"]["id"])
    old = "2000-01-01 00:00:00"
    with s.db.engine.begin() as conn:
        conn.execute(text("UPDATE candidate SET lease_until = :t"), {"t": old})
        conn.execute(text("UPDATE supervisor_access SET lease_until = :t"), {"t": old})
        joins = dict(conn.execute(text("SELECT id, join_token FROM candidate")).tuples().all())
    # Paul's current join, Simon's older one (renews nothing), Marie's access.
    pairs = [(paul, joins[paul]), (simon, joins[simon] - 1)]
    await s.db.write(lambda tx: presence.renew_leases(tx, pairs, [(room.sid, marie)], 10))
    with s.db.engine.connect() as conn:
        leases = dict(conn.execute(text("SELECT id, lease_until FROM candidate")).tuples().all())
        accesses = dict(conn.execute(text("SELECT user_id, lease_until FROM supervisor_access")).tuples().all())
    renewed = {cid for cid, at in leases.items() if not str(at).startswith("2000")}
    assert renewed == {paul}
    assert {uid for uid, at in accesses.items() if not str(at).startswith("2000")} == {marie}


async def test_the_renewal_goes_through_while_every_request_thread_is_taken(world: World) -> None:
    """Under a full load of requests the renewal does not queue behind them: it has a thread
    and a connection of its own (without them this renewal would wait for the release)."""
    room = await open_room(world)
    s = world.services
    paul = room.ids["Paul"]
    with s.db.engine.begin() as conn:
        conn.execute(text("UPDATE candidate SET lease_until = :t"), {"t": "2000-01-01 00:00:00"})
        join = conn.execute(text("SELECT join_token FROM candidate WHERE id = :id"), {"id": paul}).scalar_one()
    release = threading.Event()
    holding = threading.Semaphore(0)

    def hold(db: Session) -> None:
        db.execute(text("SELECT 1"))  # checks a connection out of the pool
        holding.release()
        release.wait()

    busy = [asyncio.ensure_future(s.db.read(hold)) for _ in range(s.settings.db_pool_size)]
    try:
        for _ in busy:
            assert await asyncio.to_thread(holding.acquire, True, 30)
        renewal = s.db.write(lambda tx: presence.renew_leases(tx, [(paul, join)], [], 10), apart=True)
        await asyncio.wait_for(renewal, 30)
        assert not any(task.done() for task in busy)
    finally:
        release.set()
        await asyncio.gather(*busy)
    with s.db.engine.connect() as conn:
        lease = conn.execute(text("SELECT lease_until FROM candidate WHERE id = :id"), {"id": paul}).scalar_one()
    assert not str(lease).startswith("2000")
