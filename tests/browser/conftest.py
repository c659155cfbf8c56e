"""A real `surveillance serve` process on a fresh SQLite file with the demo session, and
headless Debian Chromium driven by Playwright (no browser download: CHROMIUM names it)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, WebSocket, sync_playwright

from tests import contract

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BIN = Path(sys.executable).parent / "surveillance"
SCREENSHOTS = Path(__file__).parent / "screenshots"
DEMO_EMAIL = "surveillant@testix.fr"
# `surveillance demo` generates the demo account's password and prints it once; the
# server fixture reads it there. One server per test, so one password at a time.
_DEMO: dict[str, str] = {}


def demo_password() -> str:
    return _DEMO["password"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    folder: Path
    port: int = field(default_factory=_free_port)
    session_id: int = 0
    supervisor_password: str = ""
    access_code: str = ""
    demo_password: str = ""
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "ALLOWED_ORIGINS"}}
        env.update(
            DATABASE_URL=f"sqlite:///{self.folder / 'db.sqlite'}",
            SECRET_KEY="browser-tests-secret-key-0123456789",
            LOG_PLAIN="1",
            # The demo's lines are read in French, whatever the developer's terminal speaks.
            LC_ALL="C.UTF-8",
            DATA_DIR=str(self.folder),
        )
        return env

    def demo(self) -> None:
        out = subprocess.run(
            # `demo` refuses a database other than SQLite unless forced: a test server on
            # PostgreSQL (the HA tests) means it.
            [str(BIN), "demo", *([] if self.env["DATABASE_URL"].startswith("sqlite") else ["--force"])],
            env=self.env,
            cwd=self.folder,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout

        def find(pattern: str) -> str:
            match = re.search(pattern, out)
            assert match, f"no {pattern!r} in demo output:\n{out}"
            return match.group(1)

        self.session_id = int(find(r"Numéro de session\s*:\s*(\d+)"))
        self.supervisor_password = find(r"Mot de passe de la session\s*:\s*(\S+)")
        self.access_code = find(r"Code d'accès\s*:\s*(\S+)")
        self.demo_password = find(r"Mot de passe\s*:\s*(\S+)\s+\(affiché une seule fois\)")
        _DEMO["password"] = self.demo_password

    def start(self) -> None:
        self._log = (self.folder / "server.log").open("ab")
        self.process = subprocess.Popen(
            [str(BIN), "serve", "--port", str(self.port)],
            env=self.env,
            cwd=self.folder,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited:\n" + self.log())
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start:\n" + self.log())

    def kill(self) -> None:
        """As a crash would: no graceful close of the websockets."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            # A server that will not stop in time is killed just below.
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(15)
        self.kill()

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def client(self) -> httpx.Client:
        """An API client that passes the same-origin rule, as the app's own pages do."""
        return httpx.Client(base_url=self.base, headers={"Origin": self.base}, timeout=10)

    @contextmanager
    def supervisor(self, email: str = DEMO_EMAIL, password: str | None = None) -> Iterator[httpx.Client]:
        """An API client logged in as a supervisor of the demo session."""
        with self.client() as api:
            api.post(
                "/api/auth/login", json={"email": email, "password": password or self.demo_password}
            ).raise_for_status()
            api.post(
                "/api/supervision/access",
                json={"session_id": self.session_id, "supervisor_password": self.supervisor_password},
            ).raise_for_status()
            yield api


def _check_frames(ws: WebSocket) -> None:
    ws.on("framereceived", lambda payload: contract.record(payload, "server_message"))
    ws.on("framesent", lambda payload: contract.record(payload, "client_message"))


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path)
    contract.watch(request.node, srv.env["DATABASE_URL"])
    srv.demo()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: scripts/test installs Debian's chromium")
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield b
    b.close()


NewContext = Callable[..., BrowserContext]

# Every page of every browser test reports what the Content-Security-Policy blocked: through
# the securitypolicyviolation event (relayed by a binding that survives navigations) and
# through Chromium's console line ("Refused to …"), in case a violation fires no event.
CSP_LISTENER = """document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolation({
    page: location.href, directive: e.violatedDirective, blocked: e.blockedURI,
    sample: e.sample, source: e.sourceFile, line: e.lineNumber,
  });
});"""


@pytest.fixture
def csp_violations() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def new_context(browser: Browser, server: Server, csp_violations: list[dict[str, Any]]) -> Iterator[NewContext]:
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        settings: dict[str, Any] = {
            "base_url": server.base,
            "locale": "fr-FR",
            "timezone_id": "Europe/Paris",
            "viewport": {"width": 1280, "height": 900},
        }
        settings.update(options)
        context = browser.new_context(**settings)
        context.set_default_timeout(10_000)
        # What the pages' live feeds receive and send is held to the schema too.
        context.on("page", lambda page: page.on("websocket", _check_frames))
        context.expose_binding("__cspViolation", lambda _source, v: csp_violations.append(v))
        context.add_init_script(CSP_LISTENER)
        context.on(
            "console",
            lambda msg: csp_violations.append({"console": msg.text})
            if "Content Security Policy" in msg.text
            else None,
        )
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        for page in context.pages:
            with suppress(Exception):
                page.wait_for_timeout(50)  # let pending reports reach us
        context.close()
    assert not csp_violations, f"Content-Security-Policy violations: {csp_violations[:10]}"


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS
