"""Documents in the language of whoever asks: the kit over HTTP (the centre member's or the
supervisor's browser, or their `lang` cookie) and the real `surveillance` command (the
terminal's LANG)."""

from __future__ import annotations

import io
import os
import re
import subprocess
from pathlib import Path

import pypdf

from tests.conftest import World
from tests.servers import VENV_BIN

LANGUAGE_VARIABLES = ("LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES")


def _text(pdf: bytes) -> str:
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join((page.extract_text() or "") for page in pages).replace("\u202f", " ").split())


async def test_the_kit_follows_whoever_downloads_it(world: World) -> None:
    staff = await world.user("admin@testix.fr", "Alice", "Martin")
    centre_id = await world.centre("Centre de Testix", "admin@testix.fr")
    session = await world.session(staff, centre_id, date="2026-11-30", time="14:30")
    url = f"/api/sessions/{session['id']}/supervisor-kit.pdf"

    french = await staff.get(url)
    english = await staff.get(url, headers={"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"})
    assert french.status_code == english.status_code == 200
    assert french.headers["content-type"] == english.headers["content-type"] == "application/pdf"
    french_text, english_text = _text(french.content), _text(english.content)
    assert "Kit surveillant" in french_text and "30/11/2026 · 14:30" in french_text
    assert "Mot de passe de la session — pour le surveillant uniquement" in french_text
    assert "Supervisor kit" in english_text and "30 Nov 2026 · 2:30 PM" in english_text
    assert "Session password — for the supervisor only" in english_text
    assert "Kit surveillant" not in english_text
    # The secrets are the same whatever the language.
    for secret in (session["supervisor_password"], session["access_code"]):
        assert secret in french_text and secret in english_text

    # The switch's cookie wins over the browser.
    staff.cookies.set("lang", "en")
    chosen = await staff.get(url, headers={"Accept-Language": "fr"})
    assert "Supervisor kit" in _text(chosen.content)
    staff.cookies.set("lang", "fr")
    assert "Kit surveillant" in _text((await staff.get(url, headers={"Accept-Language": "en"})).content)

    # A supervisor's own download follows the supervisor's language, not the centre's.
    marie = await world.user("marie@testix.fr", "Marie", "Curie")
    body = {"session_id": session["id"], "supervisor_password": session["supervisor_password"]}
    assert (await marie.post("/api/supervision/access", json=body)).status_code == 204
    theirs = await marie.get(
        f"/api/supervision/sessions/{session['id']}/supervisor-kit.pdf", headers={"Accept-Language": "en-US"}
    )
    assert theirs.status_code == 200 and "Supervisor kit" in _text(theirs.content)


def _surveillance(folder: Path, *args: str, **language: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in LANGUAGE_VARIABLES and k != "DATABASE_URL"}
    env |= {"DATABASE_URL": f"sqlite:///{folder / 'demo.db'}", "DATA_DIR": str(folder), "LOG_PLAIN": "1", **language}
    return subprocess.run(
        [str(VENV_BIN / "surveillance"), *args], env=env, cwd=folder, capture_output=True, text=True, timeout=120
    )


def test_the_command_line_speaks_french_unless_the_terminal_speaks_english(tmp_path: Path) -> None:
    french = _surveillance(tmp_path, "demo")
    assert french.returncode == 0, french.stderr
    # The lines tests and scripts read back, as they have always been.
    assert french.stdout.startswith("Session de démonstration créée :\n")
    assert "  Centre de Testix · Salle 3 · 28/12/2021 · 11:00 · 4 candidats\n" in french.stdout
    password = re.search(r"Mot de passe de la session : (\S+)   \(surveillants\)", french.stdout)
    code = re.search(r"Code d'accès\s+: (\S+)   \(candidats\)", french.stdout)
    assert password and code, french.stdout
    assert "Candidats : DELARUE Sophie (04/07/2001)," in french.stdout

    english = _surveillance(tmp_path, "demo", LANG="en_US.UTF-8")
    assert english.returncode == 0, english.stderr
    assert english.stdout.startswith("Demonstration session already there:\n")
    assert "  Centre de Testix · Salle 3 · 28 Dec 2021 · 11:00\u202fAM · 4 candidates\n" in english.stdout
    assert f"  Session password : {password[1]}   (supervisors)\n" in english.stdout
    assert f"  Access code      : {code[1]}   (candidates)\n" in english.stdout
    assert "Password       : unchanged (shown when the account was created;" in english.stdout
    assert "Candidates: DELARUE Sophie (4 Jul 2001)," in english.stdout
    assert "Mot de passe" not in english.stdout and "Candidats" not in english.stdout

    # LC_ALL wins over LANG, and C means no language chosen: French.
    assert _surveillance(tmp_path, "db", "upgrade", LANG="en_US.UTF-8").stdout == "Database up to date.\n"
    assert (
        _surveillance(tmp_path, "db", "upgrade", LC_ALL="C", LANG="en_US.UTF-8").stdout == "Base de données à jour.\n"
    )

    refused = _surveillance(tmp_path, "centre", "create", "Centre", "--admin", "nobody@testix.fr", LANG="en_GB.UTF-8")
    assert refused.returncode == 2
    assert refused.stderr.startswith("Error: ") and refused.stderr.rstrip().endswith(
        "Create the account first (sign up)."
    )
    refused = _surveillance(tmp_path, "centre", "create", "Centre", "--admin", "nobody@testix.fr")
    assert refused.stderr.startswith("Erreur : ") and "Créez d'abord le compte (inscription)." in refused.stderr

    help_en = _surveillance(tmp_path, "demo", "--help", LANG="en_US.UTF-8").stdout
    assert "give the demonstration account a new password" in help_en
    assert "donne un nouveau mot de passe" in _surveillance(tmp_path, "demo", "--help").stdout
