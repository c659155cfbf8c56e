"""Steps shared by the browser tests: what a supervisor or a candidate does in the pages."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.browser.conftest import DEMO_EMAIL, Server, demo_password

CANDIDATES = {
    "Sophie": ("DELARUE", "2001-07-04"),
    "Martine": ("DUPONT", "1994-06-21"),
    "Paul": ("DUPONT", "1997-05-21"),
    "Simon": ("DURAND", "1988-03-09"),
    # Not in the demo: enrolled by the tests that need a fifth candidate.
    "Léa": ("MARTIN", "2003-02-14"),
}


def api_login(context: BrowserContext, server: Server, email: str = DEMO_EMAIL, password: str | None = None) -> None:
    """Log a browser context in through the JSON API: its cookie jar then holds the login cookie."""
    response = context.request.post(
        server.base + "/api/auth/login",
        data={"email": email, "password": password or server.demo_password},
        headers={"Origin": server.base},
    )
    assert response.status == 200, response.text()


def api_access(context: BrowserContext, server: Server) -> None:
    response = context.request.post(
        server.base + "/api/supervision/access",
        data={"session_id": server.session_id, "supervisor_password": server.supervisor_password},
        headers={"Origin": server.base},
    )
    assert response.status == 204, response.text()


def signup(context: BrowserContext, server: Server, email: str, first: str, last: str) -> None:
    response = context.request.post(
        server.base + "/api/auth/signup",
        data={"email": email, "password": "Motdepasse1", "first_name": first, "last_name": last},
        headers={"Origin": server.base},
    )
    assert response.status == 201, response.text()


def ui_login(page: Page, email: str = DEMO_EMAIL, password: str | None = None) -> None:
    """From a page showing the login form (after a redirect), as a person would."""
    expect(page.get_by_role("heading", name="Connectez-vous")).to_be_visible()
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password or demo_password())
    page.get_by_role("button", name="Je me connecte").click()


def ui_access(page: Page, server: Server) -> None:
    expect(page.get_by_role("heading", name="Surveiller une session")).to_be_visible()
    page.get_by_label("Numéro de la session").fill(str(server.session_id))
    page.get_by_label("Mot de passe de la session").fill(server.supervisor_password)
    page.get_by_role("button", name="Surveiller la session").click()
    page.wait_for_url(f"**/surveillance/sessions/{server.session_id}")


def open_dashboard(page: Page, server: Server) -> None:
    page.goto(f"/surveillance/sessions/{server.session_id}")
    expect(page.locator("[data-candidates]")).to_have_attribute("aria-busy", "false")


def supervisor_dashboard(context: BrowserContext, server: Server, person: tuple[str, str, str] | None = None) -> Page:
    """A supervisor's dashboard, open: the demo account's, or that of a new account
    (email, first name, last name) that enters the session."""
    if person is None:
        api_login(context, server)
    else:
        signup(context, server, *person)
    api_access(context, server)
    page = context.new_page()
    open_dashboard(page, server)
    return page


def row(page: Page, first: str) -> Locator:
    last, _ = CANDIDATES[first]
    return page.locator("[data-candidate-id]").filter(has_text=f"{last} {first}")


def presence(page: Page, first: str) -> Locator:
    last, _ = CANDIDATES[first]
    return page.get_by_role("checkbox", name=re.compile(f"{last} {first}"))


def candidate_join(page: Page, server: Server, first: str) -> None:
    last, birth = CANDIDATES[first]
    if "/certification" not in page.url:
        page.goto("/certification")
    page.get_by_label("Numéro de session").fill(str(server.session_id))
    # As typed by a person: lower case, odd spacing; the server normalises both.
    page.get_by_label("Code d'accès").fill(server.access_code.lower())
    page.get_by_label("Prénom").fill(first)
    page.get_by_label("Nom", exact=True).fill(last.capitalize())
    page.get_by_label("Date de naissance").fill(birth)
    page.get_by_role("button", name="Rejoindre la session").click()


def candidate_id(server: Server, first: str) -> int:
    with server.supervisor() as api:
        snapshot: dict[str, Any] = api.get(f"/api/supervision/sessions/{server.session_id}").json()
    last, _ = CANDIDATES[first]
    return int(next(c["id"] for c in snapshot["candidates"] if c["first_name"] == first and c["last_name"] == last))


def answer_current(page: Page) -> None:
    page.locator("label.choice").first.click()
    page.get_by_role("button", name="Valider ma réponse").click()


def tick(server: Server, first: str) -> None:
    cid = candidate_id(server, first)
    with server.supervisor() as api:
        api.post(
            f"/api/supervision/sessions/{server.session_id}/candidates/{cid}/presence", json={"authorized": True}
        ).raise_for_status()


def api_candidate(server: Server, first: str, *, answers: int = 0) -> httpx.Client:
    """A candidate without a browser: joins, starts and answers through the JSON API."""
    last, birth = CANDIDATES[first]
    client = server.client()
    client.post(
        "/api/candidate/join",
        json={
            "session_id": server.session_id,
            "access_code": server.access_code,
            "first_name": first,
            "last_name": last,
            "birthdate": birth,
        },
    ).raise_for_status()
    client.post("/api/candidate/start", json={"consent": True}).raise_for_status()
    for _ in range(answers):
        question = client.get("/api/candidate/test").json()["question"]
        client.post("/api/candidate/answers", json={"question_id": question["id"], "answer": 0}).raise_for_status()
    return client


def busy_session(server: Server) -> None:
    """The guide's second screenshot, and a resume request: one row of each kind."""
    tick(server, "Sophie")
    api_candidate(server, "Sophie", answers=16).close()
    tick(server, "Simon")
    api_candidate(server, "Simon", answers=5).close()
    tick(server, "Paul")
    api_candidate(server, "Paul", answers=9).close()
    # Paul comes back from another computer: refused until a supervisor agrees.
    with server.client() as again:
        refused = again.post(
            "/api/candidate/join",
            json={
                "session_id": server.session_id,
                "access_code": server.access_code,
                "first_name": "Paul",
                "last_name": "Dupont",
                "birthdate": CANDIDATES["Paul"][1],
            },
        )
        assert refused.status_code == 403, refused.text
    tick(server, "Martine")
