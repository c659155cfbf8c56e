"""Fuzz the JSON API from the OpenAPI description it serves: whatever schemathesis sends,
logged in or not, the answer is never a server error and always a JSON error shape."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import _truncate
from tests.servers import VENV_BIN, AppProcess

pytestmark = pytest.mark.slow
SQL_TEXT = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\s.*\b(FROM|INTO|SET|WHERE)\b", re.S)
ENDS_LOGINS = {"/api/auth/logout", "/api/auth/sessions", "/api/auth/sessions/{id}", "/api/auth/password"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("fuzz")
    # PostgreSQL too: it enforces column lengths and text validity where SQLite does not, so
    # some inputs fail only there (issue 11, finding 10).
    if request.param == "sqlite":
        url, demo = f"sqlite:///{folder / 'fuzz.db'}", ["demo"]
    else:
        url, demo = request.getfixturevalue("pg_database"), ["demo", "--force"]
        _truncate(url)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "fuzz-" + "f" * 32}
    env["LC_ALL"] = "C.UTF-8"  # the demo's lines are read in French, whatever the developer's terminal speaks
    # The fuzz must reach the routes' code, not the abuse budget of its one address.
    env |= {"ADDRESS_BUDGET": "1000000", "GLOBAL_BUDGET": "1000000"}
    out = subprocess.run([str(VENV_BIN / "surveillance"), *demo], env=env, capture_output=True, text=True, check=True).stdout
    password = re.search(r"Mot de passe de la session : (\S+)", out)
    code = re.search(r"Code d'accès\s+: (\S+)", out)
    account = re.search(r"Mot de passe\s+: (\S+)\s+\(affiché une seule fois\)", out)
    assert password and code and account
    app = AppProcess(env, log_dir=folder).start()
    with httpx.Client(base_url=app.url, headers={"Origin": app.url}) as c:
        c.post("/api/auth/login", json={"email": "surveillant@testix.fr", "password": account.group(1)}).raise_for_status()
        c.post("/api/supervision/access", json={"session_id": 668, "supervisor_password": password.group(1)}).raise_for_status()
        c.post("/api/supervision/sessions/668/candidates/1/presence", json={"authorized": True}).raise_for_status()
        r = c.post(
            "/api/candidate/join",
            json={"session_id": 668, "access_code": code.group(1), "first_name": "Sophie", "last_name": "DELARUE", "birthdate": "2001-07-04"},
        )
        r.raise_for_status()
        cookies = dict(c.cookies)
        # Logins the fuzzer may end (logout, "end my sessions", a password change) belong to
        # another account, so the main one stays logged in for every other operation.
        c.post(
            "/api/auth/signup",
            json={"email": "jetable@testix.fr", "password": "motdepasse1", "first_name": "J", "last_name": "T"},
        ).raise_for_status()
    yield {"url": app.url, "cookies": cookies}
    app.kill()
    shutil.rmtree(folder, ignore_errors=True)


def test_no_server_error(server: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_url(server["url"] + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    def throwaway() -> dict[str, str]:
        with httpx.Client(base_url=server["url"], headers={"Origin": server["url"]}) as c:
            c.post("/api/auth/login", json={"email": "jetable@testix.fr", "password": "motdepasse1"})
            return dict(c.cookies)

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            for cookies in (throwaway() if case.path in ENDS_LOGINS else server["cookies"], {}):
                response = case.call(base_url=server["url"], headers={"Origin": server["url"]}, cookies=cookies)
                assert response.status_code < 500, (case.method, case.path, response.text[:300])
                if response.status_code >= 400:
                    body = response.json()
                    assert set(body["error"]) >= {"code", "message"}
                    # SQL leaks as a statement ("SELECT x FROM"); error codes like SELECTION_REQUIRED are not SQL.
                    assert "Traceback" not in response.text and not SQL_TEXT.search(response.text)

        check()
