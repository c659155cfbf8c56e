"""Everything a request needs, built once per app and opened in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.templating import Jinja2Templates

from app import display, i18n
from app.actions.rules import Rules
from app.assets import Assets
from app.budget import Budget, budget_for
from app.caps import Caps
from app.db import Database
from app.expiry import Expiry
from app.feeds import CandidateFeed, SessionFeed
from app.hashing import HashPool
from app.logouts import Logouts
from app.presence import Presence
from app.security import Signer
from app.settings import Settings
from realtime.broker import broker_from_url
from realtime.hub import Hub
from realtime.metrics import Metrics

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Services:
    settings: Settings
    db: Database
    hub: Hub
    metrics: Metrics
    rules: Rules
    signer: Signer
    presence: Presence
    templates: Jinja2Templates
    assets: Assets
    session_feed: SessionFeed
    candidate_feed: CandidateFeed
    expiry: Expiry
    budget: Budget
    hashes: HashPool
    logouts: Logouts
    # The live sockets each person holds on this process (app/caps.py).
    caps: Caps = field(default_factory=Caps)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        metrics = Metrics()
        hub = Hub(broker_from_url(settings.redis_url), metrics, queue_size=settings.socket_queue_size)
        db = Database(settings, publish=hub.publish_text)
        rules = Rules.from_settings(settings)
        templates = Jinja2Templates(directory=str(ROOT / "templates"))
        assets = Assets(ROOT / "static")
        templates.env.globals.update(static_url=assets.url, modulepreload=assets.module_graph)
        display.install(templates.env, settings.session_timezone)
        i18n.install(templates.env)
        presence = Presence(db, rules)
        return cls(
            settings=settings,
            db=db,
            hub=hub,
            metrics=metrics,
            rules=rules,
            signer=Signer(settings.secret_key),
            presence=presence,
            templates=templates,
            assets=assets,
            session_feed=SessionFeed(db, rules, metrics, settings.replay_limit),
            candidate_feed=CandidateFeed(db, rules, presence),
            expiry=Expiry(db, rules, every=settings.expiry_sweep_seconds),
            budget=budget_for(
                settings.redis_url, settings.address_budget, settings.global_budget, settings.budget_window_seconds
            ),
            hashes=HashPool(settings.hash_workers, settings.hash_queue),
            logouts=Logouts(db, settings.login_recheck_seconds),
        )

    async def open(self) -> None:
        await self.hub.start()
        self.presence.start()
        self.expiry.start()
        self.logouts.start()

    async def close(self) -> None:
        await self.logouts.stop()
        await self.expiry.stop()
        await self.presence.stop()
        await self.hub.close()
        await self.budget.close()
        await self.db.settle()
        self.db.dispose()

    def context(self) -> dict[str, Any]:
        return {"settings": self.settings}
