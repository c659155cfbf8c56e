"""One typed settings object, read from the environment once and validated at start.

`TABLE` is the only place a setting is described: its environment variable, type, default
and help. The `Settings` dataclass takes its defaults from it, `load_settings` reads and
checks the environment by it, and `surveillance serve --help-settings` and the README's
"Configuration" table are printed from it (a test keeps the README in step).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values


class ConfigurationError(Exception):
    """A setting is missing or wrong; the message says which, in French and English."""


Kind = Literal["text", "secret", "url", "int", "float", "bool", "path", "origins", "timezone", "networks"]

_KIND_WORDS: dict[Kind, str] = {
    "text": "texte",
    "secret": "texte secret",
    "url": "URL",
    "int": "entier",
    "float": "nombre",
    "bool": "oui/non",
    "path": "dossier",
    "origins": "liste d'origines",
    "timezone": "fuseau horaire",
    "networks": "liste d'adresses ou de réseaux",
}
_TRUE = frozenset({"1", "true", "yes", "on", "oui"})


@dataclass(frozen=True)
class Setting:
    """One knob. `shown` is the default in words when it is computed at start rather than fixed."""

    name: str
    kind: Kind
    default: Any
    help: str
    shown: str | None = None
    minimum: float | None = None
    # Exclusive minimum, for durations where zero would mean "never".
    above: float | None = None

    @property
    def env(self) -> str:
        return self.name.upper()

    @property
    def shown_default(self) -> str:
        if self.shown is not None:
            return self.shown
        if isinstance(self.default, bool):
            return "oui" if self.default else "non"
        if isinstance(self.default, float):
            return f"{self.default:g}"
        return str(self.default)

    def read(self, env: Mapping[str, str]) -> Any:
        """The value of this setting in `env`, its default when unset or blank."""
        raw = env.get(self.env, "").strip()
        if not raw:
            return self.default
        if self.kind == "int":
            try:
                return int(raw)
            except ValueError:
                raise ConfigurationError(f"{self.env} doit être un nombre entier / must be an integer") from None
        if self.kind == "float":
            try:
                return float(raw)
            except ValueError:
                raise ConfigurationError(f"{self.env} doit être un nombre / must be a number") from None
        if self.kind == "bool":
            return raw.lower() in _TRUE
        if self.kind == "path":
            return Path(raw)
        if self.kind == "origins":
            return tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
        if self.kind == "networks":
            return _networks(self.env, raw)
        return raw

    def check(self, value: Any) -> None:
        if self.kind == "timezone":
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ConfigurationError(f"{self.env} : fuseau horaire inconnu {value!r} / unknown time zone") from None
        if self.minimum is not None and value < self.minimum:
            raise ConfigurationError(
                f"{self.env} doit être au moins {self.minimum:g} / must be at least {self.minimum:g}"
            )
        if self.above is not None and value <= self.above:
            raise ConfigurationError(f"{self.env} doit être positif / must be positive")


def _count(name: str, default: int, help: str, minimum: int = 1) -> Setting:
    """A whole number of attempts, seconds, sockets…: most make no sense below one, which
    `check` refuses at start with the setting's name."""
    return Setting(name, "int", default, help, minimum=minimum)


def _seconds(name: str, default: float, help: str) -> Setting:
    """A period or a deadline, in seconds: zero would mean "never" or "at once", so it must be positive."""
    return Setting(name, "float", default, help, above=0)


TABLE: tuple[Setting, ...] = (
    Setting(
        "database_url",
        "url",
        "",
        "`sqlite:///chemin` ou `postgresql://user@hôte/base` (le pilote est choisi par l'app) ; primaire et "
        "secours : `postgresql://user@h1:5432,h2:5432/base?target_session_attrs=read-write` (« Haute disponibilité »)",
        shown="fichier `surveillance.db` dans `DATA_DIR`",
    ),
    Setting(
        "redis_url",
        "url",
        None,
        "`redis://hôte:6379/0` : Redis pub/sub entre processus ; avec Sentinel : "
        "`redis+sentinel://s1:26379,s2:26379,s3:26379/mymaster/0`",
        shown="non définie : diffusion en mémoire, un seul processus",
    ),
    Setting(
        "secret_key",
        "secret",
        "",
        "signe les cookies ; **obligatoire** avec PostgreSQL (tous les processus doivent partager la même)",
        shown="générée une fois et gardée dans `surveillance.secret` à côté de la base SQLite",
    ),
    Setting(
        "allowed_origins",
        "origins",
        (),
        "origines supplémentaires (séparées par des virgules) admises pour les changements d'état et les websockets",
        shown="aucune",
    ),
    Setting("data_dir", "path", Path("."), "dossier du fichier SQLite par défaut et de la clé générée"),
    Setting(
        "cookie_secure",
        "bool",
        None,
        "cookies `Secure` nommés `__Host-…` : automatiquement pour une requête HTTPS (vue par uvicorn, donc "
        "`X-Forwarded-Proto` d'un proxy de `FORWARDED_ALLOW_IPS`) et dès qu'une origine de `ALLOWED_ORIGINS` est "
        "en `https://` ; `oui` : toujours ; `non` : seulement pour les requêtes HTTPS",
        shown="automatique",
    ),
    Setting("forwarded_allow_ips", "text", "127.0.0.1", "proxys dont uvicorn croit les en-têtes `X-Forwarded-*`"),
    _count("test_minutes", 105, "durée du test, en minutes, avant temps majoré"),
    _count("questions_per_test", 16, "nombre de questions tirées pour chaque candidat"),
    _count(
        "rate_limit_attempts",
        5,
        "essais ratés admis par cible (mot de passe de session, code d'accès, connexion) et par fenêtre",
    ),
    _count("rate_limit_window_seconds", 300, "fenêtre, en secondes, de la limite d'essais"),
    _count(
        "join_guess_attempts",
        30,
        "noms ou dates de naissance ratés admis par session et fenêtre, une fois le code d'accès juste "
        "(et `RATE_LIMIT_ATTEMPTS` par personne)",
    ),
    _count(
        "supervisor_account_attempts",
        10,
        "mots de passe de session ratés admis par compte et fenêtre, toutes sessions confondues",
    ),
    _count(
        "address_budget",
        200,
        "essais admis par adresse cliente, porte (inscription, connexion, entrée candidat, accès surveillant) "
        "et fenêtre ; comptés dans Redis si `REDIS_URL`, sinon en mémoire",
    ),
    _count("global_budget", 3000, "essais admis par porte et fenêtre, toutes adresses ensemble"),
    _count("budget_window_seconds", 300, "fenêtre, en secondes, des budgets par adresse et global"),
    _count("hash_workers", 2, "fils qui hachent les mots de passe (argon2)"),
    _count(
        "hash_queue", 8, "hachages de mot de passe admis en attente d'un fil ; au-delà, `503 SERVICE_BUSY`", minimum=0
    ),
    Setting(
        "candidate_lease_seconds", "int", 10, "un candidat silencieux depuis ce délai apparaît « Connexion perdue »"
    ),
    _seconds("supervisor_heartbeat_seconds", 15.0, "battement du serveur vers les surveillants, en secondes"),
    Setting(
        "replay_limit",
        "int",
        1000,
        "au-delà de ce nombre d'événements manqués, un client reçoit un nouvel instantané plutôt qu'un rejeu",
    ),
    _count("socket_queue_size", 256, "événements en attente par websocket avant de fermer un client trop lent"),
    _count(
        "candidate_sockets",
        2,
        "websockets par candidat dans un processus (celles d'une page en attente de reprise comptées à part) ;"
        " une nouvelle ferme la plus ancienne (code 4408)",
    ),
    _count(
        "supervisor_sockets",
        4,
        "websockets par surveillant et session dans un processus ; une nouvelle ferme la plus ancienne (code 4408)",
    ),
    _count(
        "db_pool_size",
        20,
        "connexions (et fils d'exécution) base de données par processus, plus une réservée au renouvellement des baux",
    ),
    Setting(
        "ws_deflate",
        "bool",
        False,
        "compression `permessage-deflate` des websockets (double la mémoire d'une socket inactive)",
    ),
    Setting("log_plain", "bool", False, "journaux en texte plutôt qu'en JSON"),
    _count(
        "join_opens_minutes_before",
        30,
        "un candidat ne peut rejoindre une session qu'à partir de ce délai (minutes) avant l'heure prévue",
        minimum=0,
    ),
    Setting("session_timezone", "timezone", "Europe/Paris", "fuseau de la date et de l'heure prévues des sessions"),
    _count(
        "test_expiry_hours",
        24,
        "un test encore ouvert ce délai (heures) après son début se ferme de lui-même (`ended_by_expiry`)",
    ),
    _seconds(
        "expiry_sweep_seconds",
        60.0,
        "chaque processus cherche les tests à fermer par expiration à ce rythme (secondes)",
    ),
    _count("messages_per_minute", 6, "messages qu'un surveillant peut envoyer à une session par minute"),
    _count(
        "alerts_per_candidate",
        5,
        "signalements qu'un candidat peut envoyer en 10 minutes (chacun doit être traité avant le suivant)",
    ),
    Setting(
        "metrics_allowed",
        "networks",
        ("127.0.0.1/32", "::1/128"),
        "adresses ou réseaux (séparés par des virgules) autorisés à lire `/metrics` ; les autres reçoivent `404` "
        "(derrière un proxy de confiance, l'adresse est celle de `X-Forwarded-For`)",
        shown="`127.0.0.1/32,::1/128` (la machine elle-même)",
    ),
    _count(
        "limit_concurrency",
        12000,
        "connexions (websockets comprises) par processus au-delà desquelles uvicorn répond `503`",
    ),
    _seconds(
        "header_timeout_seconds",
        20.0,
        "délai, en secondes, pour recevoir les en-têtes d'une requête (connexion muette ou trop lente, "
        "« slowloris ») avant de couper",
    ),
    _count(
        "keep_alive_seconds",
        65,
        "connexion HTTP inactive gardée ouverte, en secondes (plus que le keep-alive amont de nginx)",
    ),
    _seconds(
        "login_recheck_seconds",
        15.0,
        "une page de surveillance ouverte vérifie à ce rythme, en secondes, que sa connexion existe encore "
        "(déconnexion, « Mon compte », changement de mot de passe) et se ferme sinon",
    ),
)


@dataclass(frozen=True)
class Settings:
    """The values in force. No defaults here: each field's default is its row of TABLE, which
    `load_settings` fills in (a test checks that the fields and the rows are the same list)."""

    database_url: str
    redis_url: str | None
    secret_key: str
    allowed_origins: tuple[str, ...]
    data_dir: Path
    # None: automatic (see secure_cookies_always).
    cookie_secure: bool | None
    forwarded_allow_ips: str
    test_minutes: int
    questions_per_test: int
    rate_limit_attempts: int
    rate_limit_window_seconds: int
    join_guess_attempts: int
    supervisor_account_attempts: int
    address_budget: int
    global_budget: int
    budget_window_seconds: int
    hash_workers: int
    hash_queue: int
    candidate_lease_seconds: int
    supervisor_heartbeat_seconds: float
    replay_limit: int
    socket_queue_size: int
    candidate_sockets: int
    supervisor_sockets: int
    db_pool_size: int
    ws_deflate: bool
    log_plain: bool
    join_opens_minutes_before: int
    session_timezone: str
    test_expiry_hours: int
    expiry_sweep_seconds: float
    messages_per_minute: int
    alerts_per_candidate: int
    metrics_allowed: tuple[str, ...]
    limit_concurrency: int
    header_timeout_seconds: float
    keep_alive_seconds: int
    login_recheck_seconds: float

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies_always(self) -> bool:
        """Cookies Secure (and __Host-) even on a request that looks like plain HTTP: the
        public site is HTTPS (a TLS proxy whose X-Forwarded-Proto we may not see)."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return any(origin.startswith("https://") for origin in self.allowed_origins)

    @property
    def log_json(self) -> bool:
        return not self.log_plain

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def normalise_database_url(url: str) -> str:
    """Accept plain URLs and pick the driver ourselves (psycopg 3 for PostgreSQL).

    libpq's multi-host form (``postgresql://u@h1:5432,h2:5432/db?target_session_attrs=read-write``)
    is how an operator names a primary and its standby; SQLAlchemy cannot parse a host list
    in the authority, so it is rewritten into SQLAlchemy's own form (``?host=h1:5432&host=h2:5432``),
    which psycopg hands back to libpq as the same host list.
    """
    if url.startswith(("postgres://", "postgresql://")):
        rest = url.split("://", 1)[1]
        return "postgresql+psycopg://" + _host_list_to_query(rest)
    if url.startswith("postgresql+"):
        scheme, rest = url.split("://", 1)
        return f"{scheme}://{_host_list_to_query(rest)}"
    if url.startswith("sqlite:"):
        return url
    raise ConfigurationError(
        f"DATABASE_URL non reconnue : {url!r} (attendu sqlite:///chemin ou postgresql://…) / unsupported DATABASE_URL"
    )


def _host_list_to_query(rest: str) -> str:
    authority, _, tail = rest.partition("/")
    userinfo, at, hosts = authority.rpartition("@")
    if "," not in hosts:
        return rest
    listed = [h.strip() for h in hosts.split(",")]
    if any(not h or h.startswith(":") for h in listed):
        raise ConfigurationError(
            f"DATABASE_URL : liste d'hôtes invalide {hosts!r} (attendu hote1:port,hote2:port) / invalid host list"
        )
    path, _, query = tail.partition("?")
    params = [f"host={h}" for h in listed] + ([query] if query else [])
    return f"{userinfo}{at}/{path}?" + "&".join(params)


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read the environment (and a .env file), fill the defaults, validate."""
    env: dict[str, str] = {}
    if environ is None:
        env.update({k: v for k, v in dotenv_values(".env").items() if v is not None})
        env.update(os.environ)
    else:
        env.update(environ)

    values = {s.name: s.read(env) for s in TABLE}
    # The two defaults that depend on another setting (or on the disk) are computed here.
    data_dir: Path = values["data_dir"]
    database_url = normalise_database_url(values["database_url"] or f"sqlite:///{data_dir / 'surveillance.db'}")
    values["database_url"] = database_url
    if not values["secret_key"]:
        if not database_url.startswith("sqlite"):
            raise ConfigurationError(
                "SECRET_KEY est obligatoire avec PostgreSQL : tous les processus doivent signer "
                "les cookies avec la même clé. / SECRET_KEY is required with PostgreSQL."
            )
        values["secret_key"] = _secret_beside_sqlite(data_dir)

    settings = Settings(**values).with_(**overrides)
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    for setting in TABLE:
        setting.check(getattr(settings, setting.name))
    if len(settings.secret_key) < 16:
        raise ConfigurationError("SECRET_KEY doit faire au moins 16 caractères / must be ≥ 16 characters")
    if settings.redis_url:
        _validate_redis_url(settings.redis_url)
    for origin in settings.allowed_origins:
        parts = urlsplit(origin)
        # An origin is scheme://host[:port]: with a path or without a host it would never match.
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
            raise ConfigurationError(f"ALLOWED_ORIGINS : origine invalide {origin!r} / invalid origin")
    from app.questions import load_bank  # the bank is package data, read once and cached

    bank = len(load_bank())
    if settings.questions_per_test > bank:
        raise ConfigurationError(
            f"QUESTIONS_PER_TEST ({settings.questions_per_test}) dépasse les {bank} questions de la banque / "
            "exceeds the question bank"
        )


# ------------------------------------------------------------------ the table, for people

README_START = "<!-- settings: generated by `surveillance settings-table`, do not edit by hand -->"
README_END = "<!-- /settings -->"


def _plain(text: str) -> str:
    """The help text for a terminal: without Markdown's backquotes and bold."""
    return re.sub(r"\*\*|`", "", text)


def help_text() -> str:
    """`surveillance serve --help-settings`: each variable, its type, default and role."""
    lines = ["Réglages, lus dans l'environnement (et un fichier .env) au démarrage :", ""]
    for s in TABLE:
        lines.append(f"  {s.env}  ({_KIND_WORDS[s.kind]} ; défaut : {_plain(s.shown_default)})")
        lines.append(f"      {_plain(s.help)}")
    return "\n".join(lines) + "\n"


def markdown_table() -> str:
    """The README's "Configuration" table, between its two markers."""
    rows = [README_START, "| variable | type | défaut | rôle |", "|---|---|---|---|"]
    for s in TABLE:
        shown = s.shown if s.shown is not None else f"`{s.shown_default}`"
        rows.append(f"| `{s.env}` | {_KIND_WORDS[s.kind]} | {shown} | {s.help} |")
    rows.append(README_END)
    return "\n".join(rows) + "\n"


def readme_with_table(readme: str) -> str:
    """`readme` with its settings table replaced by the current one."""
    start = readme.index(README_START)
    end = readme.index(README_END, start) + len(README_END) + 1
    return readme[:start] + markdown_table() + readme[end:]


def _validate_redis_url(url: str) -> None:
    from realtime.sentinel import SENTINEL_SCHEME, parse_sentinel_url

    if url.startswith(SENTINEL_SCHEME):
        try:
            parse_sentinel_url(url)
        except ValueError as exc:
            raise ConfigurationError(f"REDIS_URL : {exc}") from None
    elif not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigurationError(
            "REDIS_URL doit commencer par redis:// ou redis+sentinel:// / must start with redis:// or redis+sentinel://"
        )


def _networks(env: str, raw: str) -> tuple[str, ...]:
    """Addresses or networks (CIDR), comma-separated."""
    found: list[str] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            found.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ConfigurationError(
                f"{env} : adresse ou réseau invalide {item!r} (ex. 127.0.0.1, 10.0.0.0/8) / invalid network"
            ) from None
    return tuple(found)


def _secret_beside_sqlite(data_dir: Path) -> str:
    """One process on SQLite: keep a generated key so cookies survive restarts."""
    path = data_dir / "surveillance.secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    # Written whole to a private file, then linked into place: a second process starting
    # at the same moment either wins the link or reads the complete key, never half of it.
    fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".surveillance.secret.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return path.read_text().strip()
