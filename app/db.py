"""Engine, transactions and the after-commit hand-off of events.

Database work runs in a bounded thread pool (sync SQLAlchemy) so the event loop never
waits on a query. Every write runs in one transaction that first takes the session's
lock (row lock on PostgreSQL, BEGIN IMMEDIATE on SQLite): changes of one exam session are
serialised, so versions are contiguous and rule checks see the latest state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlmodel import Session, create_engine

from app.errors import DomainError, ServiceUnavailable
from app.settings import Settings
from app.threads import Threads

log = logging.getLogger("surveillance.db")

T = TypeVar("T")

# Connections kept apart from the request threads: one for the lease renewal, whose
# timing must not depend on how many answers are waiting for a thread.
LANES = 1
# An event is handed on as the JSON text its transaction wrote to the log: one encoding
# per event, whatever the number of processes and sockets it reaches.
Publish = Callable[[int, str], Awaitable[None]]


class Tx:
    """One open write transaction and the events it will publish once committed.

    `conn` is the transaction's connection, for Core statements; `db`, an ORM session on
    the same transaction, is made on first use: the answer path needs none, and making
    one (with its transaction bookkeeping) costs more than the answer's own statements.
    """

    def __init__(self, source: Session | Connection) -> None:
        self.events: list[tuple[int, str]] = []
        # Each session's candidates as this transaction leaves them, (status, authorized)
        # by id, when an action read them all under the session's lock: the counters an
        # event carries are then tallied here instead of queried again.
        self.rooms: dict[int, dict[int, tuple[str, bool]]] = {}
        self._db: Session | None = None
        if isinstance(source, Session):
            self._db = source
            self.conn = source.connection()
        else:
            self.conn = source

    @property
    def db(self) -> Session:
        if self._db is None:
            # The session joins the connection's transaction; Database.write commits it.
            self._db = Session(bind=self.conn, expire_on_commit=False, join_transaction_mode="rollback_only")
        return self._db

    def flush(self) -> None:
        """What the ORM session still holds, written into the transaction. Objects whose
        changes the event log already wrote are still marked dirty, with nothing left to
        write: the unit of work is not set up for them."""
        db = self._db
        if db is not None and (db.new or db.deleted or any(db.is_modified(o) for o in db.dirty)):
            db.flush()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=settings.db_pool_size + LANES,
            max_overflow=0,
            hide_parameters=True,
        )
        _sqlite_transactions(engine)
        return engine
    # After a primary switch every pooled connection points at the dead primary: a
    # connection idle for a while is pinged on checkout and replaced if dead, a query cut
    # mid-flight invalidates its connection (503), and a new connection goes through
    # DATABASE_URL's host list, where target_session_attrs=read-write skips the standby
    # until it is promoted.
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size + LANES,
        max_overflow=0,
        pool_recycle=1800,
        connect_args={
            # Per host of the list: a primary whose machine is gone (no reset, no answer)
            # costs this long before the standby is tried.
            "connect_timeout": 5,
            # A pooled connection to such a machine is found dead within seconds rather
            # than the kernel's quarter of an hour: unacknowledged writes time out, and idle
            # connections are probed.
            "tcp_user_timeout": 10_000,
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 3,
            "keepalives_count": 3,
        },
        # Bound values are names, birthdates, codes: never in an exception text or a log.
        hide_parameters=True,
    )
    _ping_when_idle(engine)
    return engine


# SQLAlchemy's pool_pre_ping costs a round trip (SELECT 1) before every transaction: on
# the answer path, one round trip in four. A connection back in use within this many
# seconds has just worked; only one idle for longer, where a dead primary hides, is pinged.
IDLE_PING_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    @sa_event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa_event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_conn, None):
                # The pool drops this connection and checks out (or opens) another.
                raise DisconnectionError() from exc
            raise


def _sqlite_transactions(engine: Engine) -> None:
    # pysqlite opens transactions lazily and as DEFERRED, which lets two writers read the
    # same state and then collide. We take over BEGIN so writes start IMMEDIATE.
    @sa_event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @sa_event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        name = type(exc.orig).__name__ if exc.orig is not None else ""
        return name in {"OperationalError", "InterfaceError", "AdminShutdown"} and "locked" not in str(exc)
    return False


class Database:
    def __init__(self, settings: Settings, publish: Publish | None = None) -> None:
        self.settings = settings
        self.engine = make_engine(settings)
        self.publish = publish
        # As many threads as pooled connections: a thread never waits for a connection.
        # Our own pool (app/threads.py): anyio's to_thread, then the executor, cost more per
        # hop than the answer's own statements.
        self._threads = Threads(settings.db_pool_size, "db")
        # The renewal's own thread, and a pooled connection always free for it (the pool
        # holds LANES more than the request threads can take): renewals arriving late
        # under a full answer load would show connected people as lost.
        self._lane = Threads(LANES, "db-lane")
        # Held until done: the loop keeps only weak references to its tasks.
        self._aside: set[asyncio.Task[None]] = set()

    def aside(self, fn: Callable[[Tx], object], what: str) -> None:
        """A write no request waits for (a display value): it runs after the caller moves
        on, and a failure is logged as `what` rather than answered."""

        async def run() -> None:
            try:
                await self.write(fn)
            except Exception as exc:  # nobody is waiting for this one: say it in the log
                log.warning("%s: %s", what, type(exc).__name__)

        task = asyncio.get_running_loop().create_task(run())
        self._aside.add(task)
        task.add_done_callback(self._aside.discard)

    async def settle(self) -> None:
        """Waits for the writes set aside, before the process lets go of its connections."""
        while self._aside:
            await asyncio.gather(*self._aside)

    def dispose(self) -> None:
        self._threads.shutdown()
        self._lane.shutdown()
        self.engine.dispose()

    async def read(self, fn: Callable[[Session], T]) -> T:
        def work() -> T:
            with Session(self.engine, expire_on_commit=False) as db:
                return fn(db)

        return await self._in_thread(work)

    async def lookup(self, fn: Callable[[Connection], T]) -> T:
        """One Core statement on a bare connection, no ORM session: on PostgreSQL it runs
        outside a transaction, one round trip instead of three (BEGIN, the statement,
        ROLLBACK). Only for one statement: two would each see their own snapshot."""

        def work() -> T:
            with self.engine.connect() as conn:
                if self.engine.dialect.name == "postgresql":
                    # The pool sets the connection back to transactions when it is returned.
                    conn.execution_options(isolation_level="AUTOCOMMIT")
                return fn(conn)

        return await self._in_thread(work)

    async def ping(self) -> None:
        """One round trip, for readiness checks; raises when the database does not answer."""
        try:
            await self.read(lambda db: db.execute(text("SELECT 1")))
        except ServiceUnavailable:
            # A pooled connection used less than IDLE_PING_SECONDS ago is not pinged on
            # checkout, so after a restart the check may draw a dead one; that failure has
            # invalidated the pool, and the database is ready if a fresh connection answers.
            await self.read(lambda db: db.execute(text("SELECT 1")))

    async def write(self, fn: Callable[[Tx], T], *, apart: bool = False) -> T:
        """Run fn in one transaction; publish its events after commit, in version order.

        A DomainError raised with commit=True (a refusal that still records something,
        like a resume request) commits first, then propagates. `apart`: in the lane of
        its own (the lease renewal), not behind the requests' transactions.
        """

        def work() -> tuple[T | DomainError, list[tuple[int, str]]]:
            with self.engine.connect() as conn:
                conn.execution_options(immediate=True).begin()
                tx = Tx(conn)
                try:
                    try:
                        result: T | DomainError = fn(tx)
                    except DomainError as refusal:
                        if not refusal.commit:
                            conn.rollback()
                            raise
                        result = refusal
                    tx.flush()
                    conn.commit()
                finally:
                    tx.close()
                return result, tx.events

        result, events = await self._in_thread(work, self._lane if apart else self._threads)
        if self.publish is not None:
            for session_id, text in events:
                await self.publish(session_id, text)
        if isinstance(result, DomainError):
            raise result
        return result

    async def _in_thread(self, work: Callable[[], T], threads: Threads | None = None) -> T:
        # A cancelled caller still waits for its work to finish (app/threads.py): a
        # transaction is never abandoned midway.
        try:
            return await (self._threads if threads is None else threads).run(work)
        except DBAPIError as exc:
            if _is_connection_error(exc):
                log.warning("database unavailable: %s", type(exc.orig).__name__)
                raise ServiceUnavailable() from exc
            raise
