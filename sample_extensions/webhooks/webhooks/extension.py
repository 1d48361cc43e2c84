"""The ``webhooks`` extension: signed HTTP callbacks when things happen on the platform.

Request path cost: one sync hook that returns at once while nobody subscribed
to ``request.completed``, else one queue insertion per matching subscription;
every delivery (I/O, retries, the delivery log) runs in the dispatcher's tasks.
Active subscriptions are kept in memory, reloaded from the database whenever
this extension changes one, so the hook never queries the database.

Only ``admin`` and ``manager`` manage subscriptions: a subscription sees
request paths and user ids. The secret that signs deliveries is returned once,
in the answer that creates the subscription, and is never listed or logged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from dufflebag_harness.sdk import (
    Extension,
    Health,
    HealthStatus,
    Hook,
    HookContext,
    HookType,
    JSONResponse,
    Metadata,
    Request,
    Response,
    Router,
    Services,
    current_user,
)
from webhooks import _store as store
from webhooks._config import CONFIG_SCHEMA, DEFAULT_CONFIG, Settings, parse
from webhooks._dispatcher import Dispatcher, Job
from webhooks._http import DeliveryError, post
from webhooks._openapi import (
    CREATE_DOC,
    DELETE_DOC,
    DELIVERIES_DOC,
    ENABLE_DOC,
    GET_DOC,
    LIST_DOC,
    PING_DOC,
    TEST_DOC,
)
from webhooks._signing import SIGNATURE_HEADER, new_secret, sign
from webhooks._subscribe import Refused, validate

__all__ = ["DEGRADED_AT", "MANAGERS", "OWN_PREFIX", "Webhooks"]

#: Who may manage subscriptions.
MANAGERS = ("admin", "manager")
#: Requests to our own API are never announced (no echo of subscription management).
OWN_PREFIX = "/ext/webhooks"
#: Fraction of the delivery queue in use at which health reports ``degraded``.
DEGRADED_AT = 0.8
_ID = re.compile(r"^[0-9a-f]{32}$")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status)


class Webhooks(Extension):
    """Subscriptions API, delivery hooks, and the dispatcher that delivers."""

    metadata = Metadata(
        name="webhooks",
        version="1.0.0",
        description="Signed HTTP callbacks on platform events, with retries and a delivery log",
        author="DuffleBagBase",
        license="MIT",
        homepage="https://example.org/dufflebag/webhooks",
        host_api=">=1.0,<2",
        tags=("webhooks", "integration", "official"),
    )
    config_schema = CONFIG_SCHEMA
    default_config = DEFAULT_CONFIG
    migrations = store.MIGRATIONS

    def __init__(self, *, queue_size: int = 1000) -> None:
        self.settings = Settings()
        self.subscriptions: tuple[store.Subscription, ...] = ()
        self.dispatcher = Dispatcher(settings=lambda: self.settings, send=self._send,
                                     log_attempt=self._log_attempt, finished=self._finished,
                                     maxsize=queue_size)

    # -- configuration and lifecycle -----------------------------------------------
    def apply_config(self, config: Mapping[str, Any]) -> None:
        """Swap in new settings at once; deliveries read them at every attempt."""
        self.settings = parse(config)

    async def initialize(self, services: Services) -> None:
        """Keep the services and load the active subscriptions (migrations already ran)."""
        self.services = services
        await self._reload()

    async def start(self) -> None:
        """Start delivering; touches no service, so a restart after ``stop()`` works."""
        self.dispatcher.start()

    async def stop(self) -> None:
        await self.dispatcher.stop()

    async def health(self) -> HealthStatus:
        d = self.dispatcher
        checks = {
            "dispatcher": "running" if d.running else "stopped",
            "queue": f"{d.queued}/{d.maxsize}",
            "in_flight": str(d.in_flight),
            "active_subscriptions": str(len(self.subscriptions)),
            "delivered": str(d.delivered),
            "failed": str(d.failed),
            "dropped": str(d.dropped),
        }
        if not d.running:
            return HealthStatus(Health.DEGRADED, checks, "deliveries are not running")
        if d.queued >= DEGRADED_AT * d.maxsize:
            return HealthStatus(Health.DEGRADED, checks, "deliveries are queueing up")
        return HealthStatus(Health.HEALTHY, checks)

    async def drain(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued delivery finished (tests and shutdown use it)."""
        return await self.dispatcher.drain(timeout_s)

    async def _reload(self) -> None:
        self.subscriptions = tuple(await store.active_subscriptions(self.services.database))

    # -- registration --------------------------------------------------------------
    def register_routes(self, router: Router) -> None:
        one = "/subscriptions/{subscription_id}"
        router.get("/ping", self.ping, name="ping", openapi=PING_DOC)
        router.post("/subscriptions", self.create, roles=MANAGERS, name="create",
                    openapi=CREATE_DOC)
        router.get("/subscriptions", self.list_all, roles=MANAGERS, name="list", openapi=LIST_DOC)
        router.get(one, self.get, roles=MANAGERS, name="get", openapi=GET_DOC)
        router.delete(one, self.delete, roles=MANAGERS, name="delete", openapi=DELETE_DOC)
        router.post(one + "/enable", self.enable, roles=MANAGERS, name="enable",
                    openapi=ENABLE_DOC)
        router.post(one + "/test", self.test, roles=MANAGERS, name="test", openapi=TEST_DOC)
        router.get(one + "/deliveries", self.deliveries, roles=MANAGERS, name="deliveries",
                   openapi=DELIVERIES_DOC)

    def hooks(self) -> Sequence[Hook]:
        # Late (high priority number): announce what the other hooks let through.
        return (
            Hook(name="announce_requests", type=HookType.POST_REQUEST,
                 handler=self._on_request, priority=1000),
            Hook(name="announce_signups", type=HookType.POST_SIGNUP,
                 handler=self._on_signup, priority=1000),
        )

    # -- hooks: build events, queue them, return -------------------------------------
    def _announce(self, event: str, data: Mapping[str, Any], path: str | None = None) -> None:
        for sub in self.subscriptions:
            if event in sub.events and (path is None or path.startswith(sub.path_prefix)):
                self.dispatcher.submit(Job.create(sub, event, data))

    def _on_request(self, ctx: HookContext) -> None:
        if not self.subscriptions or ctx.request is None:
            return
        path = ctx.request.scope["path"]
        if path == OWN_PREFIX or path.startswith(OWN_PREFIX + "/"):
            return
        self._announce("request.completed", {
            "method": ctx.request.method,
            "path": path,
            "status": ctx.status,
            "duration_ms": ctx.result.get("duration_ms"),
            "user_id": ctx.user.id if ctx.user else None,
        }, path)

    def _on_signup(self, ctx: HookContext) -> None:
        if self.subscriptions and ctx.user is not None:
            self._announce("user.signup", {"user_id": ctx.user.id,
                                           "username": ctx.user.username})

    # -- delivery callbacks (run in the dispatcher's tasks) --------------------------
    async def _send(self, job: Job, attempt: int, settings: Settings) -> int:
        host = urlsplit(job.subscription.url).hostname or ""
        if not settings.allows(host):
            raise DeliveryError(f"host {host!r} is no longer in allowed_hosts", permanent=True)
        headers = {
            "Content-Type": "application/json",
            "X-Dufflebag-Event": job.event,
            "X-Dufflebag-Delivery": job.delivery_id,
            "X-Dufflebag-Attempt": str(attempt),
            SIGNATURE_HEADER: sign(job.subscription.secret, job.body),
        }
        return await post(job.subscription.url, job.body, headers, settings.timeout_s)

    async def _log_attempt(self, attempt: store.Attempt) -> None:
        await store.record_attempt(self.services.database, attempt)
        self.services.metrics.inc("delivery_attempts", outcome="ok" if attempt.ok else "failed")
        if not attempt.ok:
            self.services.logger.warning(
                "delivery %s (attempt %d) to subscription %s failed: %s", attempt.delivery_id,
                attempt.attempt, attempt.subscription_id, attempt.error)

    async def _finished(self, job: Job, delivered: bool) -> None:
        limit = self.settings.disable_after
        if await store.record_outcome(self.services.database, job.subscription.id, delivered,
                                      limit):
            self.services.logger.warning(
                "subscription %s disabled after %d failed deliveries in a row",
                job.subscription.id, limit)
            await self._reload()

    # -- handlers ------------------------------------------------------------------
    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "webhooks", "pong": True})

    async def create(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(422, "$: the body is not JSON")
        try:
            new = validate(body, self.settings)
        except Refused as exc:
            return _error(422, str(exc))
        db = self.services.database
        limit = self.settings.max_subscriptions
        if await store.count_subscriptions(db) >= limit:
            return _error(409, f"the limit of {limit} subscriptions is reached")
        secret = new_secret()
        user = current_user(request)
        view = await store.insert_subscription(
            db, url=new.url, events=new.events, path_prefix=new.path_prefix,
            description=new.description, secret=secret, created_by=user.id if user else None)
        await self._reload()
        self._audit(request, "webhooks.subscription_created", view["id"])
        return JSONResponse({**view, "secret": secret}, 201)

    async def list_all(self, request: Request) -> Response:
        return JSONResponse({"subscriptions": await store.list_subscriptions(
            self.services.database)})

    async def get(self, request: Request) -> Response:
        sub_id = request.path_params["subscription_id"]
        view = await store.get_subscription(self.services.database, sub_id) \
            if _ID.match(sub_id) else None
        return JSONResponse(view) if view else _missing(sub_id)

    async def delete(self, request: Request) -> Response:
        sub_id = request.path_params["subscription_id"]
        if not _ID.match(sub_id) or not await store.delete_subscription(
                self.services.database, sub_id):
            return _missing(sub_id)
        await self._reload()
        self._audit(request, "webhooks.subscription_deleted", sub_id)
        return Response(status_code=204)

    async def enable(self, request: Request) -> Response:
        sub_id = request.path_params["subscription_id"]
        db = self.services.database
        if not _ID.match(sub_id) or not await store.enable(db, sub_id):
            return _missing(sub_id)
        await self._reload()
        self._audit(request, "webhooks.subscription_enabled", sub_id)
        return JSONResponse(await store.get_subscription(db, sub_id))

    async def test(self, request: Request) -> Response:
        sub_id = request.path_params["subscription_id"]
        found = await store.find_for_delivery(self.services.database, sub_id) \
            if _ID.match(sub_id) else None
        if found is None:
            return _missing(sub_id)
        job = Job.create(found, "webhook.ping", {"subscription_id": sub_id})
        if not self.dispatcher.submit(job):
            return _error(503, "deliveries are not running or their queue is full")
        # a delivery leaves the platform on this user's word: audited like a change
        self._audit(request, "webhooks.test_queued", sub_id)
        return JSONResponse({"delivery_id": job.delivery_id}, 202)

    async def deliveries(self, request: Request) -> Response:
        sub_id = request.path_params["subscription_id"]
        db = self.services.database
        if not _ID.match(sub_id) or await store.get_subscription(db, sub_id) is None:
            return _missing(sub_id)
        return JSONResponse({"deliveries": await store.deliveries(db, sub_id)})

    def _audit(self, request: Request, action: str, sub_id: str) -> None:
        user = current_user(request)
        self.services.audit.record(user.id if user else None, action, {"subscription": sub_id})


def _missing(sub_id: str) -> JSONResponse:
    return _error(404, f"no subscription {sub_id[:64]!r}")
