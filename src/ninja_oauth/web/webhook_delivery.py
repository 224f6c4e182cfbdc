"""The webhook delivery worker: POSTs each recorded activity to the webhooks that want it.

One asyncio task per worker process, started in the app's lifespan (``web/__init__.py``). The
API call that records an activity only inserts ``webhook_deliveries`` rows in its own
transaction (``store/public_api/webhooks.py``); it never waits on a receiver. Every
``POLL_SECONDS`` the worker probes for due rows (one indexed read), claims a batch with one
statement (so that no two workers, on this node or another, deliver the same row), POSTs them
concurrently and records each attempt:

* a 2xx answer: ``delivered``;
* anything else (another status, a redirect, which is never followed, a timeout, a refused
  address): tried again after 1 s, 2 s, 4 s ... (capped), ``gave_up`` after ``MAX_ATTEMPTS``.

The body is the activity as GET /v2/activities lists it, with ``Content-Type:
application/json`` and the webhook's custom headers, whose values are never logged or recorded
and are stored sealed (AES-GCM under a key derived from the secret key, ninja_oauth/sealed.py).
Before each attempt the host is resolved and its addresses checked (``WebhookTargets``), and
the request goes to the address checked, not to a second lookup that could answer otherwise.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from ninja_oauth import __version__
from ninja_oauth.api import mappers, schemas
from ninja_oauth.api.routes.webhooks import (
    IPAddress,
    WebhookTargets,
    header_context,
    ip_literal,
    normalize_host,
)
from ninja_oauth.sealed import SecretBox
from ninja_oauth.store.db import Store
from ninja_oauth.store.public_api import webhooks as webhook_sql

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("ninja_oauth.webhooks")

POLL_SECONDS = 0.5
BATCH = 20
TIMEOUT_SECONDS = 5.0
# The whole attempt, well inside the lease: a round never waits longer than this on one target.
ATTEMPT_SECONDS = 10.0
# A claim outlives an attempt (resolution and the request's timeout) by far: a worker that
# dies mid-attempt leaves the row to another after this.
LEASE_MS = 60_000
MAX_ATTEMPTS = 8
BACKOFF_CAP_MS = 5 * 60_000
KEEP_FINISHED_SECONDS = 7 * 86_400
PURGE_EVERY_SECONDS = 3600

_ACTIVITY: TypeAdapter[schemas.Activity] = TypeAdapter(schemas.Activity)


def backoff_ms(attempts: int) -> int:
    """The wait after the ``attempts``-th failed attempt: 1 s, 2 s, 4 s ... capped."""
    return int(min(1000 * 2 ** (attempts - 1), BACKOFF_CAP_MS))


@dataclass(frozen=True)
class Claimed:
    """A claimed delivery with what its attempt needs; ``headers`` hold secrets: no repr."""

    id: int
    attempts: int
    url: str
    body: bytes
    headers: tuple[tuple[str, str], ...]

    def __repr__(self) -> str:
        return f"Claimed(id={self.id}, attempts={self.attempts})"


@dataclass(frozen=True)
class Outcome:
    id: int
    attempts: int
    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Refused(Exception):
    """The webhook's host resolves to an address it may not reach."""


Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """The host's addresses, as the system's resolver answers now (each once, in order)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Refused(f"{host} does not resolve ({type(exc).__name__})") from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class WebhookDelivery:
    """Delivers the due webhook deliveries of the store, batch after batch."""

    def __init__(
        self,
        store: Store,
        targets: WebhookTargets,
        box: SecretBox,
        *,
        poll_seconds: float = POLL_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
        resolve: Resolver | None = None,
    ) -> None:
        self.store = store
        self.targets = targets
        self.box = box  # opens the custom header values (stored sealed)
        self.poll_seconds = poll_seconds
        self.resolve = resolve or resolve_host
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._purged_at = 0.0

    @property
    def client(self) -> httpx.AsyncClient:
        """The HTTP client, built for the first attempt: httpx (about 5 MB with what it
        imports) stays out of a worker that never sends a webhook."""
        if self._client is None:
            import httpx

            # No proxy from the environment (it would reach what the address check refused),
            # no redirect followed (it would go to a host never checked).
            self._client = httpx.AsyncClient(
                timeout=TIMEOUT_SECONDS,
                follow_redirects=False,
                trust_env=False,
                transport=self._transport,
                headers={"User-Agent": f"ninja-oauth-webhooks/{__version__}"},
            )
        return self._client

    async def run(self) -> None:
        """Deliver until cancelled; a failed round (the database restarting) is logged by its
        type and retried at the next poll."""
        try:
            while True:
                handled = 0
                try:
                    handled = await self.deliver_due()
                    await self._purge_now_and_then()
                except Exception as exc:
                    log.warning("webhook delivery round failed: %s", type(exc).__name__)
                if handled < BATCH:
                    await asyncio.sleep(self.poll_seconds)
        finally:
            if self._client is not None:
                await self._client.aclose()

    async def deliver_due(self) -> int:
        """One round: claim what is due, attempt it, record the outcomes; how many."""
        now_ms = int(time.time() * 1000)
        if not await self.store.read(partial(webhook_sql.any_due, now_ms=now_ms)):
            return 0
        claimed = await self.store.write(partial(self._claim, now_ms))
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self._attempt(c) for c in claimed))
        await self.store.write(partial(self._record, outcomes))
        return len(claimed)

    def _claim(self, now_ms: int) -> list[Claimed]:
        with self.store.transaction() as conn:
            rows = webhook_sql.claim_due(conn, now_ms, LEASE_MS, BATCH)
            if not rows:
                return []
            hooks = webhook_sql.webhooks_by_client(conn, (r["client_id"] for r in rows))
            found = webhook_sql.activities_by_id(conn, (r["activity_id"] for r in rows))
        claimed: list[Claimed] = []
        undeliverable: list[Outcome] = []
        for row in rows:
            hook, activity = hooks.get(row["client_id"]), found.get(row["activity_id"])
            try:
                if hook is None or activity is None:
                    raise LookupError("the webhook or the activity is gone")
                body = _ACTIVITY.dump_json(
                    _ACTIVITY.validate_python(mappers.activity(activity)),
                    by_alias=True,
                    exclude_none=True,
                )
                # A value sealed under another secret key does not open (ValueError): given
                # up, never sent without it.
                headers = tuple(
                    (
                        h["name"],
                        self.box.open(h["value"], header_context(row["client_id"], h["name"])),
                    )
                    for h in hook["headers"]
                )
            except Exception as exc:
                # Never retried: recorded as given up at once, so it leaves the queue (and the
                # rest of the batch goes on).
                undeliverable.append(Outcome(row["id"], MAX_ATTEMPTS, None, type(exc).__name__))
                continue
            claimed.append(Claimed(row["id"], row["attempts"], hook["url"], body, headers))
        if undeliverable:
            self._record(undeliverable)
        return claimed

    def _record(self, outcomes: Sequence[Outcome]) -> None:
        now_ms = int(time.time() * 1000)
        with self.store.transaction() as conn:
            for o in outcomes:
                if o.delivered:
                    status, next_ms = webhook_sql.DELIVERED, now_ms
                elif o.attempts >= MAX_ATTEMPTS:
                    status, next_ms = webhook_sql.GAVE_UP, now_ms
                else:
                    status, next_ms = webhook_sql.PENDING, now_ms + backoff_ms(o.attempts)
                webhook_sql.record_attempt(
                    conn,
                    o.id,
                    attempts=o.attempts,
                    status=status,
                    status_code=o.status_code,
                    error=o.error,
                    next_attempt_ms=next_ms,
                    delivered_at=now_ms // 1000 if o.delivered else None,
                )

    async def _attempt(self, c: Claimed) -> Outcome:
        attempts = c.attempts + 1
        try:
            # One deadline for the whole attempt (resolution, connection, headers): httpx's
            # timeout applies to each read, and a receiver that trickles its answer a byte at
            # a time would otherwise hold the round, and outlive the claim's lease.
            async with asyncio.timeout(ATTEMPT_SECONDS):
                request = await self._pinned_request(c)
                response = await self.client.send(request, stream=True)
                await response.aclose()  # the status is the answer; the body is not read
        except Refused as exc:
            log.warning("webhook delivery %s refused: %s", c.id, exc)
            return Outcome(c.id, attempts, None, f"refused: {exc}")
        except Exception as exc:  # httpx's errors, an URL httpx will not send to, ...
            # The type alone: a message could quote the request.
            log.info(
                "webhook delivery %s attempt %s failed: %s", c.id, attempts, type(exc).__name__
            )
            return Outcome(c.id, attempts, None, type(exc).__name__)
        if not 200 <= response.status_code < 300:
            log.info(
                "webhook delivery %s attempt %s answered %s", c.id, attempts, response.status_code
            )
        return Outcome(c.id, attempts, response.status_code, None)

    async def _pinned_request(self, c: Claimed) -> httpx.Request:
        """The POST, sent to the address just checked, with the URL's own Host header (and, for
        https, its name for SNI and the certificate check)."""
        import httpx  # loaded with the client (see ``client``)

        url = httpx.URL(c.url)
        host = normalize_host(url.host)
        address = await self._checked_address(
            host, url.port or (443 if url.scheme == "https" else 80)
        )
        headers = [
            *c.headers,
            ("Content-Type", "application/json"),
            ("Host", url.netloc.decode("ascii")),
        ]
        extensions: dict[str, Any] = {}
        if url.scheme == "https":
            extensions["sni_hostname"] = url.raw_host.decode("ascii")
        return self.client.build_request(
            "POST",
            url.copy_with(host=str(address)),
            content=c.body,
            headers=headers,
            extensions=extensions,
        )

    async def _checked_address(self, host: str, port: int) -> IPAddress:
        literal = ip_literal(host)
        addresses = [literal] if literal is not None else await self.resolve(host, port)
        problem = self.targets.addresses_refusal(host, addresses)
        if problem is not None:
            raise Refused(problem)
        return addresses[0]

    async def _purge_now_and_then(self) -> None:
        if time.monotonic() - self._purged_at < PURGE_EVERY_SECONDS:
            return
        self._purged_at = time.monotonic()
        before = int(time.time()) - KEEP_FINISHED_SECONDS

        def purge() -> int:
            with self.store.transaction() as conn:
                return webhook_sql.purge_finished(conn, before)

        # Short transactions, one batch each: the writer is never held for long.
        while await self.store.write(purge) >= webhook_sql.PURGE_BATCH:
            await asyncio.sleep(0)


async def deliver_webhooks(
    store: Store, box: SecretBox, allowed_hosts: list[str], allow_loopback: bool = True
) -> None:
    """The lifespan's task: deliver until cancelled."""
    await WebhookDelivery(store, WebhookTargets.of(allowed_hosts, allow_loopback), box).run()
