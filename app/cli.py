"""The `surveillance` command: serve, demo, centre create, db upgrade, settings-table.

It speaks the terminal's language (LC_ALL, LC_MESSAGES, LANG), French unless that is English.
The settings' descriptions (--help-settings, settings-table) are French only for now: they are
also the French README's table, and not yet marked for translation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col

from app import documents, i18n, logs, migrate
from app.actions import centres
from app.actions.eventlog import Actor
from app.actions.rules import Rules
from app.db import Database, Tx
from app.errors import DomainError
from app.i18n import _, ngettext
from app.models import Candidate, Centre, ExamSession, Membership, User
from app.security import hash_password
from app.settings import ConfigurationError, Settings, help_text, load_settings, markdown_table, readme_with_table
from vocabulary import SessionStatus

DEMO_EMAIL = "surveillant@testix.fr"
DEMO_CENTRE = "Centre de Testix"
DEMO_SESSION_ID = 668
DEMO_CANDIDATES = [
    ("DELARUE", "Sophie", dt.date(2001, 7, 4)),
    ("DUPONT", "Martine", dt.date(1994, 6, 21)),
    ("DUPONT", "Paul", dt.date(1997, 5, 21)),
    ("DURAND", "Simon", dt.date(1988, 3, 9)),
]


def terminal_language(environ: Mapping[str, str]) -> str:
    """The language gettext would pick: the first of LC_ALL, LC_MESSAGES and LANG that is set.
    C and POSIX (no language chosen), like any language we do not have, mean French."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:
            return i18n.supported(value.partition(".")[0].partition("@")[0]) or i18n.DEFAULT
    return i18n.DEFAULT


def _fail(message: str) -> int:
    print(_("Erreur : %(message)s") % {"message": message}, file=sys.stderr)
    return 2


def serve(settings: Settings, host: str, port: int, workers: int) -> int:
    if workers > 1 and not settings.redis_url:
        return _fail(
            _(
                "--workers > 1 demande REDIS_URL : sans Redis, chaque processus ne verrait que ses propres "
                "événements et les surveillants ne seraient plus à jour. / --workers > 1 requires REDIS_URL."
            )
        )
    import uvicorn

    # Ours before anything logs, and uvicorn's own lines (start, stop, sockets) through it too:
    # one format on stderr, JSON unless LOG_PLAIN, for whatever collects the logs.
    logs.configure(settings.log_json)
    migrate.upgrade(settings)
    from app.serving import ENV, HeaderDeadlineProtocol

    # Workers are spawned processes: they read the header deadline from the environment.
    os.environ[ENV] = str(settings.header_timeout_seconds)
    uvicorn.run(
        "app.serving:create_served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ws_max_size=64 * 1024,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        # Events are small JSON; per-socket compression doubled the memory of an idle
        # socket (86 KB against 42 KB, BENCHMARKS.md) and costs CPU on every send.
        ws_per_message_deflate=settings.ws_deflate,
        # Longer than nginx's upstream keep-alive, so a paced client reuses its connection.
        timeout_keep_alive=settings.keep_alive_seconds,
        # Past this many connections (websockets included) or tasks, new requests get 503
        # rather than the process running out of file descriptors or memory.
        limit_concurrency=settings.limit_concurrency,
        http=HeaderDeadlineProtocol,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=10,
        log_config=None,
        log_level="info",
        access_log=False,
    )
    return 0


def new_demo_password() -> str:
    # Letters and digits, so it satisfies the sign-up rule; 14 characters from 56 symbols.
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(14))
        if any(c.isdigit() for c in password) and any(c.isalpha() for c in password):
            return password


def _seed_demo(tx: Tx, settings: Settings, password: str | None) -> tuple[ExamSession, bool]:
    """password: the new one to set (account created or --new-password), else None."""
    db = tx.db
    user = db.execute(select(User).where(col(User.email) == DEMO_EMAIL)).scalar()
    if user is None:
        assert password is not None
        user = User(email=DEMO_EMAIL, password_hash=hash_password(password), first_name="Surveillant", last_name="Test")
        db.add(user)
        db.flush()
    elif password is not None:
        user.password_hash = hash_password(password)
        db.add(user)
    centre = db.execute(select(Centre).where(col(Centre.name) == DEMO_CENTRE)).scalar()
    if centre is None:
        centre = Centre(name=DEMO_CENTRE)
        db.add(centre)
        db.flush()
    assert user.id is not None and centre.id is not None
    if (
        db.execute(
            select(Membership).where(col(Membership.centre_id) == centre.id, col(Membership.user_id) == user.id)
        ).first()
        is None
    ):
        db.add(Membership(centre_id=centre.id, user_id=user.id))
    existing = db.execute(
        select(ExamSession).where(
            col(ExamSession.centre_id) == centre.id, col(ExamSession.status) == SessionStatus.CREATED
        )
    ).scalar()
    if existing is not None:
        return existing, False
    # The guide's screenshots show session 668: keep that number when it is free.
    free = db.get(ExamSession, DEMO_SESSION_ID) is None
    plan = centres.SessionPlan(
        address=DEMO_CENTRE, room="Salle 3", examiner="Surveillant Test", date=dt.date(2021, 12, 28), time="11:00"
    )
    session = centres.create_session(tx, centre.id, user.id, plan, number=DEMO_SESSION_ID if free else None)
    rules = Rules.from_settings(settings)
    for last, first, birth in DEMO_CANDIDATES:
        centres.enrol_into(tx, session, centres.Enrolment(last, first, birth), rules, Actor.of(user))
    return session, True


async def _demo(settings: Settings, new_password: bool) -> tuple[ExamSession, bool, int, str | None]:
    database = Database(settings)
    try:

        def has_account(db: Session) -> bool:
            return db.execute(select(col(User.id)).where(col(User.email) == DEMO_EMAIL)).first() is not None

        password = new_demo_password() if new_password or not await database.read(has_account) else None
        session, created = await database.write(lambda tx: _seed_demo(tx, settings, password))

        def count(db: Session) -> int:
            return len(list(db.execute(select(col(Candidate.id)).where(col(Candidate.session_id) == session.id))))

        return session, created, await database.read(count), password
    finally:
        database.dispose()


def demo(settings: Settings, force: bool = False, new_password: bool = False) -> int:
    import asyncio

    if not settings.is_sqlite and not force:
        # The demo adds a known account, a centre and four fictitious candidates: on a real
        # database that is an account someone could log into. Only on purpose.
        return _fail(
            _(
                "surveillance demo ne s'exécute que sur une base SQLite de démonstration. Pour l'ajouter "
                "quand même à cette base, relancez avec --force. / demo runs on SQLite only unless --force."
            )
        )
    migrate.upgrade(settings)
    session, created, count, password = asyncio.run(_demo(settings, new_password))
    # Tests and scripts read the secrets back with patterns such as "Code d'accès\s+: (\S+)":
    # the French lines must keep their words and columns.
    print(_("Session de démonstration créée :") if created else _("Session de démonstration déjà présente :"))
    enrolled = ngettext("%(count)s candidat", "%(count)s candidats", count) % {"count": documents.number(count)}
    when = f"{documents.day(session.date)} · {documents.hour(session.time) or session.time}"
    print(f"  {session.address} · {session.room} · {when} · {enrolled}")
    print("  " + _("Numéro de session          : %(number)s") % {"number": session.id})
    print(
        "  "
        + _("Mot de passe de la session : %(password)s   (surveillants)") % {"password": session.supervisor_password}
    )
    print("  " + _("Code d'accès               : %(code)s   (candidats)") % {"code": session.access_code})
    print(_("Compte surveillant de démonstration (aussi membre du centre) :"))
    print("  " + _("Adresse e-mail : %(email)s") % {"email": DEMO_EMAIL})
    if password is not None:
        print("  " + _("Mot de passe   : %(password)s   (affiché une seule fois)") % {"password": password})
    else:
        print(
            "  "
            + _(
                "Mot de passe   : inchangé (affiché à la création du compte ; "
                "surveillance demo --new-password en génère un autre)"
            )
        )
    names = ", ".join(f"{last} {first} ({documents.day(birth)})" for last, first, birth in DEMO_CANDIDATES)
    print(_("Candidats : %(names)s") % {"names": names})
    return 0


def centre_create(settings: Settings, name: str, admin: str) -> int:
    import asyncio

    migrate.upgrade(settings)

    async def run() -> Centre:
        db = Database(settings)
        try:
            return await db.write(lambda tx: centres.create_centre(tx, name, admin))
        finally:
            db.dispose()

    try:
        centre = asyncio.run(run())
    except DomainError as exc:
        # An error's words in the current language are its `text` once errors are translated
        # (i18n of app/errors.py); before that, its French `message`.
        words = str(getattr(exc, "text", exc.message))
        return _fail(words + " " + _("Créez d'abord le compte (inscription)."))
    print(
        _("Centre « %(name)s » créé (id %(id)s), membre : %(admin)s")
        % {"name": centre.name, "id": centre.id, "admin": admin}
    )
    return 0


def settings_table(readme: str | None) -> int:
    if readme is None:
        print(markdown_table(), end="")
        return 0
    path = Path(readme)
    path.write_text(readme_with_table(path.read_text()))
    print(_("Tableau des réglages mis à jour dans %(path)s.") % {"path": readme})
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="surveillance", description=_("Surveillance des sessions de certification"))
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help=_("lance l'application (migre la base d'abord)"))
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1)
    s.add_argument(
        "--help-settings", action="store_true", help=_("affiche les réglages (variables d'environnement) et quitte")
    )
    t = sub.add_parser("settings-table", help=_("imprime le tableau des réglages du README (Markdown)"))
    t.add_argument("--write", metavar="README", help=_("remplace le tableau dans ce fichier au lieu de l'imprimer"))
    dm = sub.add_parser("demo", help=_("crée la session de démonstration du guide (base SQLite)"))
    dm.add_argument("--force", action="store_true", help=_("accepte une base autre que SQLite"))
    dm.add_argument(
        "--new-password", action="store_true", help=_("donne un nouveau mot de passe au compte de démonstration")
    )
    c = sub.add_parser("centre", help=_("centres de certification"))
    csub = c.add_subparsers(dest="centre_command", required=True)
    cc = csub.add_parser("create", help=_("crée un centre"))
    cc.add_argument("name")
    cc.add_argument("--admin", required=True, help=_("e-mail d'un compte existant"))
    d = sub.add_parser("db", help=_("base de données"))
    dsub = d.add_subparsers(dest="db_command", required=True)
    dsub.add_parser("upgrade", help=_("applique les migrations"))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    token = i18n.current.set(terminal_language(os.environ))
    try:
        return _main(argv)
    finally:
        i18n.current.reset(token)


def _main(argv: Sequence[str] | None) -> int:
    args = parser().parse_args(argv)
    # Both describe the settings rather than use them: they work whatever the environment says.
    if args.command == "serve" and args.help_settings:
        print(help_text(), end="")
        return 0
    if args.command == "settings-table":
        return settings_table(args.write)
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        return _fail(str(exc))
    try:
        return _run(args, settings)
    except OperationalError as exc:
        # Every command starts by migrating: an unreachable database shows here, before any
        # socket is opened. One line for the operator rather than a driver traceback.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        return _fail(
            _(
                "base de données injoignable ou en erreur (%(reason)s) : vérifiez DATABASE_URL. "
                "/ database unreachable or failing: check DATABASE_URL."
            )
            % {"reason": reason}
        )


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve":
        return serve(settings, args.host, args.port, args.workers)
    if args.command == "demo":
        return demo(settings, force=args.force, new_password=args.new_password)
    if args.command == "centre":
        return centre_create(settings, args.name, args.admin)
    if args.command == "db":
        migrate.upgrade(settings)
        print(_("Base de données à jour."))
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
