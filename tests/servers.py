"""Real server processes for tests: uvicorn app processes, private redis-servers (alone or
watched by sentinels) and a private PostgreSQL primary with its synchronous standby."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} not ready after {timeout}s")


class AppProcess:
    """`surveillance serve` in a subprocess, as an operator would run it."""

    def __init__(self, env: dict[str, str], port: int | None = None, log_dir: Path | None = None) -> None:
        self.env = env
        self.port = port or free_port()
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> AppProcess:
        env = {**os.environ, **self.env, "LOG_PLAIN": "1"}
        out = open(self.log_dir / f"app-{self.port}.log", "ab") if self.log_dir else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "surveillance"), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"app process exited with {self.proc.returncode}")
            try:
                return httpx.get(self.url + "/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        _wait(ready, timeout, f"app on port {self.port}")
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


class RedisProcess:
    """A redis-server of the test's own, so it can be stopped and restarted at will."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *extra: str) -> RedisProcess:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def ready() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    return s.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        _wait(ready, 10, "redis")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


# ----------------------------------------------------------------------------- high availability


def _wait_port(port: int, timeout: float, what: str) -> None:
    def up() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    _wait(up, timeout, what)


def redis_command(port: int, *args: str, timeout: float = 2) -> str:
    """One inline command to a redis-server or sentinel, its reply as text (tests only)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall((" ".join(args) + "\r\n").encode())
        chunks = b""
        s.settimeout(0.3)
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks += chunk
        except TimeoutError:
            pass
        return chunks.decode(errors="replace")


class SentinelGroup:
    """A Redis master, its replica and three sentinels, each a process of the test's own.

    Down-after and failover timeouts are short so a killed master is replaced in seconds.
    """

    SERVICE = "mymaster"

    def __init__(self, folder: Path, down_after_ms: int = 1000, failover_timeout_ms: int = 3000) -> None:
        self.folder = folder
        self.master = RedisProcess()
        self.replica = RedisProcess()
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.sentinels: list[subprocess.Popen[bytes]] = []
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{self.SERVICE}/0"

    def start(self) -> SentinelGroup:
        # The replica's full sync goes through an RDB file: in the test's folder, not the cwd.
        self.master.start("--dir", str(self.folder))
        self.replica.start("--dir", str(self.folder), "--replicaof", "127.0.0.1", str(self.master.port))
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        for port in self.sentinel_ports:
            conf = self.folder / f"sentinel-{port}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.folder}\n"
                f"sentinel monitor {self.SERVICE} 127.0.0.1 {self.master.port} 2\n"
                f"sentinel down-after-milliseconds {self.SERVICE} {self.down_after_ms}\n"
                f"sentinel failover-timeout {self.SERVICE} {self.failover_timeout_ms}\n"
                f"sentinel parallel-syncs {self.SERVICE} 1\n"
            )
            log = open(self.folder / f"sentinel-{port}.log", "ab")  # noqa: SIM115
            self.sentinels.append(subprocess.Popen([binary, str(conf), "--sentinel"], stdout=log, stderr=log))
        for port in self.sentinel_ports:
            _wait_port(port, 10, f"sentinel on {port}")

        # Failover needs a quorum that knows the replica and the other sentinels
        # (they find each other through hello messages on the master, every 2 s).
        def settled() -> bool:
            for port in self.sentinel_ports:
                reply = redis_command(port, "SENTINEL", "MASTER", self.SERVICE)
                lines = reply.split("\r\n")
                fields = dict(zip(lines[2::4], lines[4::4], strict=False))
                if fields.get("num-other-sentinels") != "2" or fields.get("num-slaves") != "1":
                    return False
            return True

        _wait(settled, 30, "sentinels settled")
        return self

    def master_port(self) -> int | None:
        """The master as the sentinels report it (the first that answers)."""
        for port in self.sentinel_ports:
            try:
                reply = redis_command(port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.SERVICE)
            except OSError:
                continue
            lines = reply.split("\r\n")
            if len(lines) >= 5:
                return int(lines[4])
        return None

    def stop(self) -> None:
        for proc in self.sentinels:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        self.master.stop()
        self.replica.stop()


def postgres_bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
    return found[-1].parent


class PostgresServer:
    """A PostgreSQL server of the test's own, run as the `postgres` user when we are root
    (the server refuses to run as root)."""

    def __init__(self, root: Path, name: str, port: int | None = None) -> None:
        self.root = root
        self.data = root / name
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.bindir = postgres_bindir()

    @staticmethod
    def as_postgres() -> dict[str, object]:
        if os.geteuid() != 0:
            return {}
        return {"user": "postgres", "group": "postgres", "extra_groups": []}

    def run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [str(self.bindir / tool), *args], cwd=self.root, capture_output=True, timeout=120, **self.as_postgres()
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout.decode()} {done.stderr.decode()}")

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def initdb(self) -> PostgresServer:
        # --no-sync: only the setup skips fsync; the servers themselves run with fsync on.
        self.run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"
        )
        return self

    def start(self, *settings: str) -> PostgresServer:
        args = [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        for setting in ("listen_addresses=127.0.0.1", f"unix_socket_directories={self.root}", *settings):
            args += ["-c", setting]
        log = open(self.root / f"{self.data.name}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(args, cwd=self.root, stdout=log, stderr=log, **self.as_postgres())

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres {self.data.name} exited with {self.proc.returncode}")
            import psycopg

            try:
                with psycopg.connect(self.url(), connect_timeout=1):
                    return True
            except psycopg.OperationalError:
                return False

        _wait(ready, 30, f"postgres {self.data.name}")
        return self

    def kill(self) -> None:
        """The machine dies: the postmaster and every backend at once (SIGKILL).

        Backends call setsid(), so a process group kill would miss them: the postmaster is
        frozen first (no new child), then its children and itself are killed by pid."""
        if self.proc is None or self.proc.poll() is not None:
            return
        pid = self.proc.pid
        os.kill(pid, signal.SIGSTOP)
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(") ", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append(int(stat.parent.name))
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        os.kill(pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


class PostgresPair:
    """A primary and a synchronous streaming standby (pg_basebackup -R), on free ports.

    Commits on the primary wait until the standby has flushed them
    (``synchronous_standby_names`` + ``synchronous_commit = on``): whatever was acknowledged
    is on the standby's disk when the primary dies."""

    STANDBY_NAME = "standby1"

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="surveillance-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.primary = PostgresServer(self.root, "primary")
        self.standby = PostgresServer(self.root, "standby")

    def url(self, db: str) -> str:
        """libpq's multi-host form: whichever of the two accepts writes."""
        return (
            f"postgresql://postgres@127.0.0.1:{self.primary.port},127.0.0.1:{self.standby.port}/{db}"
            "?target_session_attrs=read-write"
        )

    def start(self, prepare: Callable[[PostgresServer], None]) -> PostgresPair:
        """Start the primary, let `prepare` create and migrate the database, then attach the standby."""
        import psycopg

        self.primary.initdb().start("wal_level=replica", "max_wal_senders=5", "shared_buffers=32MB")
        prepare(self.primary)
        self.primary.run(
            "pg_basebackup",
            "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
            "-D", str(self.standby.data), "-R", "-X", "stream", "--checkpoint=fast", "--no-sync",
        )  # fmt: skip
        conninfo = f"host=127.0.0.1 port={self.primary.port} user=postgres application_name={self.STANDBY_NAME}"
        self.standby.start("hot_standby=on", f"primary_conninfo={conninfo}", "shared_buffers=32MB")
        with psycopg.connect(self.primary.url(), autocommit=True) as conn:
            conn.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{self.STANDBY_NAME}'")
            conn.execute("ALTER SYSTEM SET synchronous_commit = 'on'")
            conn.execute("SELECT pg_reload_conf()")

            def synchronous() -> bool:
                row = conn.execute(
                    "SELECT sync_state FROM pg_stat_replication WHERE application_name = %s", (self.STANDBY_NAME,)
                ).fetchone()
                return row is not None and row[0] == "sync"

            _wait(synchronous, 30, "synchronous standby")
        return self

    def promote(self) -> None:
        self.standby.run("pg_ctl", "promote", "-w", "-D", str(self.standby.data))

    def stop(self) -> None:
        self.primary.stop()
        self.standby.stop()
        shutil.rmtree(self.root, ignore_errors=True)
