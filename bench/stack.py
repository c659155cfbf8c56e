"""The servers under test, all on this machine: a fresh PostgreSQL database,
a private redis-server, `surveillance serve` processes, and CPU/RSS sampling."""

from __future__ import annotations

import atexit
import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from tests.servers import RedisProcess

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = "bench-secret-" + "b" * 40


_LIVE: list[Any] = []


def cleanup() -> None:
    """Stop whatever this run started, even when it is interrupted (atexit)."""
    while _LIVE:
        thing = _LIVE.pop()
        with contextlib.suppress(Exception):
            thing.stop() if not isinstance(thing, PgDatabase) else thing.drop()


atexit.register(cleanup)


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s")


def _psql(sql: str) -> None:
    subprocess.run(["psql", PG_ADMIN, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True)


class PgDatabase:
    """A throw-away database; migrated by the first `surveillance serve`."""

    def __init__(self, label: str) -> None:
        self.name = f"bench_{label}_{uuid.uuid4().hex[:6]}"
        self.url = PG_ADMIN.rsplit("/", 1)[0] + "/" + self.name

    def create(self) -> PgDatabase:
        _psql(f'CREATE DATABASE "{self.name}"')
        _LIVE.append(self)
        return self

    def drop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            _psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def query(self, sql: str) -> str:
        out = subprocess.run(["psql", self.url, "-At", "-c", sql], check=True, capture_output=True, text=True)
        return out.stdout.strip()


class RedisServer(RedisProcess):
    """The tests' private redis-server, also stopped by cleanup() whatever happens."""

    def start(self) -> RedisServer:
        _LIVE.append(self)
        super().start()
        return self


class Server:
    """One server process on a loopback port (the app, or the bench's floor server)."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path, port: int) -> None:
        self.argv = argv
        self.env = env
        self.log = log
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, ready_path: str = "/healthz", timeout: float = 60) -> Server:
        out = open(self.log, "ab")  # noqa: SIM115  (kept open by the child)
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        _LIVE.append(self)

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv[0]} exited with {self.proc.returncode}; see {self.log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(f"GET {ready_path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                    return s.recv(64).startswith(b"HTTP/1.1 200")
            except OSError:
                return False

        _wait(ready, timeout, f"server on port {self.port}")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def app_env(database_url: str, redis_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
            "LOG_PLAIN": "1",
            # The test must last the whole run: 36 questions (the whole bank) at one per 2 s.
            "QUESTIONS_PER_TEST": "36",
            "TEST_MINUTES": "105",
            "RATE_LIMIT_ATTEMPTS": "100000",
            # Thousands of candidates join from one address here: the abuse budgets are
            # for the open internet, not for a benchmark.
            "ADDRESS_BUDGET": "1000000",
            "GLOBAL_BUDGET": "1000000",
            "JOIN_GUESS_ATTEMPTS": "100000",
            "HASH_QUEUE": "1000",
            # The capacity scenario opens thousands of sockets with a few supervisors' cookies.
            "SUPERVISOR_SOCKETS": "100000",
            "CANDIDATE_SOCKETS": "100000",
        }
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


def app_server(env: dict[str, str], log_dir: Path) -> Server:
    port = free_port()
    argv = [str(VENV_BIN / "surveillance"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return Server(argv, env, log_dir / f"app-{port}.log", port)


# ---------------------------------------------------------------- resource sampling


@dataclass
class Usage:
    """CPU seconds and RSS of a set of processes between two instants."""

    label: str
    pids: list[int]
    cpu_start: float = 0.0
    cpu_end: float = 0.0
    wall_start: float = 0.0
    wall_end: float = 0.0
    rss_max: int = 0
    rss_start: int = 0
    rss_end: int = 0
    procs: list[psutil.Process] = field(default_factory=list)
    last_cpu: dict[int, float] = field(default_factory=dict)

    def _cpu(self) -> float:
        # A process that exits (a PostgreSQL backend, say) keeps the time it was last seen with.
        for p in self.procs:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                self.last_cpu[p.pid] = t.user + t.system
        return sum(self.last_cpu.values())

    def _rss(self) -> int:
        total = 0
        for p in self.procs:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total

    def start(self) -> None:
        # PostgreSQL backends come and go (other clients of the shared server): one that
        # ended between listing and sampling is simply not counted.
        self.procs = []
        for pid in self.pids:
            with contextlib.suppress(psutil.NoSuchProcess):
                self.procs.append(psutil.Process(pid))
        self.cpu_start = self._cpu()
        self.wall_start = time.monotonic()
        self.rss_start = self.rss_max = self._rss()

    def sample(self) -> None:
        self._cpu()
        self.rss_max = max(self.rss_max, self._rss())

    def stop(self) -> None:
        self.cpu_end = self._cpu()
        self.wall_end = time.monotonic()
        self.rss_end = self._rss()
        self.rss_max = max(self.rss_max, self.rss_end)

    def summary(self) -> dict[str, Any]:
        wall = max(self.wall_end - self.wall_start, 1e-9)
        return {
            "processes": len(self.pids),
            "cpu_seconds": round(self.cpu_end - self.cpu_start, 2),
            "cpu_percent_of_one_core": round(100 * (self.cpu_end - self.cpu_start) / wall, 1),
            "rss_start_mb": round(self.rss_start / 2**20, 1),
            "rss_end_mb": round(self.rss_end / 2**20, 1),
            "rss_max_mb": round(self.rss_max / 2**20, 1),
        }


def postgres_pids() -> list[int]:
    pids = []
    for p in psutil.process_iter(["name", "username"]):
        with contextlib.suppress(psutil.Error):
            if p.info["name"] and p.info["name"].startswith("postgres"):
                pids.append(p.pid)
    return pids


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": sys.version.split()[0],
        "kernel": os.uname().release,
    }
