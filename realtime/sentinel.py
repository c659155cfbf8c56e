"""Redis Sentinel: where the current master is, for the broker's two kinds of connection.

``REDIS_URL=redis+sentinel://[:password@]host1:26379,host2:26379/mymaster/0`` names the
sentinels, the monitored service and the database. Every new connection asks the
sentinels for the master first, so after a failover a reconnect lands on the promoted
replica; connections to the old master die with it (or are killed by the sentinels when
they demote it), which is what tells the broker to re-subscribe and resync.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from redis.asyncio import BlockingConnectionPool
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

SENTINEL_SCHEME: Final = "redis+sentinel://"


@dataclass(frozen=True)
class SentinelURL:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None


def parse_sentinel_url(url: str) -> SentinelURL:
    """Parse the Sentinel form; ValueError with a French message when it is not one."""
    if not url.startswith(SENTINEL_SCHEME):
        raise ValueError(f"une URL Sentinel commence par {SENTINEL_SCHEME}")
    parts = urlsplit(url)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    sentinels: list[tuple[str, int]] = []
    for item in hosts.split(","):
        host, sep, port = item.strip().rpartition(":")
        if not sep or not host or not port.isdecimal() or not 0 < int(port) < 65536:
            raise ValueError(f"sentinelle invalide {item!r} (attendu hote:port, par exemple redis-1:26379)")
        sentinels.append((host.strip("[]"), int(port)))
    segments = [s for s in parts.path.split("/") if s]
    if not segments or len(segments) > 2:
        raise ValueError("nom du service attendu après les sentinelles (…/mymaster ou …/mymaster/0)")
    db = 0
    if len(segments) == 2:
        if not segments[1].isdecimal():
            raise ValueError(f"numéro de base Redis invalide {segments[1]!r}")
        db = int(segments[1])
    username = password = None
    if userinfo:
        user, has_password, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if has_password else None
    return SentinelURL(tuple(sentinels), unquote(segments[0]), db, username, password)


class SentinelBlockingConnectionPool(SentinelConnectionPool, BlockingConnectionPool):
    """Master connections found through the sentinels, with a bounded wait for a free one
    (redis-py's own Sentinel pool refuses at once when all are busy)."""


def sentinel_pools(
    url: str, *, publish: dict[str, Any], subscribe: dict[str, Any], common: dict[str, Any]
) -> tuple[Sentinel, SentinelBlockingConnectionPool, SentinelConnectionPool]:
    """A sentinel client, the publish pool and the subscriber's pool for one Sentinel URL."""
    spec = parse_sentinel_url(url)
    auth = {"username": spec.username, "password": spec.password, "db": spec.db}
    # The sentinels themselves answer quickly or not at all: the connect timeout bounds both.
    timeout = common.get("socket_connect_timeout", 0.5)
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(spec.sentinels),
        sentinel_kwargs={"socket_connect_timeout": timeout, "socket_timeout": timeout, "protocol": 2},
    )
    publish_pool = SentinelBlockingConnectionPool(spec.service, sentinel, **common, **auth, **publish)  # type: ignore[no-untyped-call]
    subscriber_pool = SentinelConnectionPool(spec.service, sentinel, **common, **auth, **subscribe)  # type: ignore[no-untyped-call]
    return sentinel, publish_pool, subscriber_pool
