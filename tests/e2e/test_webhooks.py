"""Webhooks: an app registers its URL with PUT /v2/webhook, and the activities the API records
afterwards reach it, POSTed by the delivery worker with the app's custom headers; a failing
receiver is retried with backoff; a URL off the allowed hosts is refused; DELETE stops it.

The live tests run `ninja-oauth serve --demo` and a receiver on 127.0.0.1 (loopback is allowed
by default). The worker's own rules (claiming, backoff, giving up, the address check at
delivery) are tested beside them on a store of their own, with httpx's mock transport."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import insert, select, update

from ninja_oauth.api.errors import ApiError
from ninja_oauth.api.routes.webhooks import (
    AdminOnly,
    HTTPHeader,
    IPAddress,
    WebhookConfiguration,
    WebhookTargets,
    configure,
    header_context,
    remove,
)
from ninja_oauth.oauth.domain import AccessGrant
from ninja_oauth.oauth.secrets import SecretHasher
from ninja_oauth.sealed import WEBHOOK_HEADERS, SecretBox
from ninja_oauth.store.api_tables import webhook_deliveries
from ninja_oauth.store.db import Store
from ninja_oauth.store.migrate import migrate
from ninja_oauth.store.public_api import activities as activity_sql
from ninja_oauth.store.public_api import webhooks as webhook_sql
from ninja_oauth.store.tables import apps, users
from ninja_oauth.web import webhook_delivery
from ninja_oauth.web.webhook_delivery import MAX_ATTEMPTS, WebhookDelivery, backoff_ms
from tests.support.server import LiveServer

ONLINE_DEVICE = 5  # the demo's approved, online Windows desktop
SECRET = "Bearer receiver-secret-0f3c9a"
# The worker tests' box: header values are stored sealed under the server's secret key.
BOX = SecretBox(SecretHasher(b"webhook-tests-key-" * 2).subkey(WEBHOOK_HEADERS))


# -- a receiver ----------------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A small HTTP server on 127.0.0.1 recording each POST and answering ``status``."""

    status: int = 204
    received: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    port: int = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, count: int, seconds: float) -> list[Received]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout=seconds)
            return list(self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.arrived:
                state.received.append(Received(self.path, dict(self.headers.items()), body))
                state.arrived.notify_all()
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


# -- the live server -----------------------------------------------------------------------------


@dataclass
class Integration:
    http: httpx.Client
    headers: dict[str, str]

    def put(self, body: dict[str, Any]) -> httpx.Response:
        return self.http.put("/v2/webhook", json=body, headers=self.headers)

    def delete(self) -> httpx.Response:
        return self.http.delete("/v2/webhook", headers=self.headers)

    def reboot(self, device: int = ONLINE_DEVICE) -> None:
        response = self.http.post(
            f"/v2/device/{device}/reboot/NORMAL", json={"reason": "patching"}, headers=self.headers
        )
        assert response.status_code == 204, response.text


def _integration(server: LiveServer) -> Iterator[Integration]:
    app = server.create_app("api_services", scopes=["monitoring", "management"])
    token = server.client_credentials_token(app, "monitoring management")
    with server.client() as http:
        it = Integration(http, {"Authorization": f"Bearer {token}"})
        yield it
        it.delete()


@pytest.fixture
def integration(demo_server: LiveServer) -> Iterator[Integration]:
    """An app of its own per test (one webhook per app), its webhook removed afterwards."""
    yield from _integration(demo_server)


@pytest.fixture(scope="module")
def refused_integration(demo_server: LiveServer) -> Iterator[Integration]:
    """One app for the registrations that are refused (nothing is ever registered)."""
    yield from _integration(demo_server)


def webhook(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "url": url,
        "activities": {"SYSTEM": ["SYSTEM_REBOOTED"]},
        "headers": [{"name": "Authorization", "value": SECRET}, {"name": "X-Tenant", "value": "7"}],
        **extra,
    }


def test_a_reboot_reaches_the_webhook_with_its_custom_headers(
    integration: Integration, receiver: Receiver, demo_server: LiveServer
) -> None:
    assert integration.put(webhook(receiver.url("/ninja?source=rmm"))).status_code == 204
    integration.reboot()
    (got,) = receiver.wait_for(1, seconds=5)
    assert got.path == "/ninja?source=rmm"
    assert got.headers["Authorization"] == SECRET
    assert got.headers["X-Tenant"] == "7"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["Host"] == f"127.0.0.1:{receiver.port}"
    delivered = json.loads(got.body)
    # The activity exactly as GET /v2/activities lists it.
    listed = integration.http.get(
        f"/v2/device/{ONLINE_DEVICE}/activities?pageSize=10", headers=integration.headers
    ).json()["activities"][0]
    assert delivered == listed
    assert (delivered["statusCode"], delivered["deviceId"]) == ("SYSTEM_REBOOTED", ONLINE_DEVICE)
    assert delivered["data"]["reason"] == "patching"
    # The custom header's value is never written to the server's log.
    assert SECRET not in demo_server.log_text()


def test_an_activity_the_filter_does_not_take_is_not_delivered(
    integration: Integration, receiver: Receiver
) -> None:
    only_resets = webhook(receiver.url(), activities={"CONDITION": ["RESET"]})
    assert integration.put(only_resets).status_code == 204
    integration.reboot()
    time.sleep(1.5)  # three polls of the worker
    assert receiver.received == []


def test_a_failing_receiver_gets_the_delivery_again(
    integration: Integration, receiver: Receiver
) -> None:
    receiver.status = 500
    assert integration.put(webhook(receiver.url())).status_code == 204
    integration.reboot()
    first, second = receiver.wait_for(2, seconds=6)[:2]
    assert first.body == second.body
    assert second.headers["Authorization"] == SECRET


def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    integration: Integration, receiver: Receiver
) -> None:
    receiver.status = 307  # without a Location: were it followed, httpx would fail anyway
    assert integration.put(webhook(receiver.url())).status_code == 204
    integration.reboot()
    assert len(receiver.wait_for(2, seconds=6)) >= 2


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://example.com/hook",
         "host example.com is not loopback and not in NINJA_OAUTH_WEBHOOK_ALLOWED_HOSTS"),
        ("http://169.254.169.254/latest/meta-data/",
         "169.254.169.254 is a link-local or cloud metadata address: never allowed"),
        ("http://metadata.google.internal/computeMetadata/v1/",
         "metadata.google.internal is a cloud metadata service: never allowed"),
        ("http://[fe80::1]:8080/", "fe80::1 is a link-local or cloud metadata address: never allowed"),
        ("file:///etc/passwd", "must be an http or https URL"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "must be an http or https URL"),
    ],
    ids=["example.com", "aws-metadata", "gcp-metadata", "link-local-v6", "file", "gopher"],
)  # fmt: skip
def test_a_target_off_the_allowed_hosts_is_refused_at_registration(
    refused_integration: Integration, url: str, problem: str
) -> None:
    response = refused_integration.put(webhook(url))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": f"url: {problem}"}


def test_delete_stops_the_deliveries(integration: Integration, receiver: Receiver) -> None:
    assert integration.put(webhook(receiver.url())).status_code == 204
    integration.reboot()
    assert len(receiver.wait_for(1, seconds=5)) == 1
    assert integration.delete().status_code == 204
    integration.reboot()
    time.sleep(1.5)
    assert len(receiver.received) == 1
    # Deleting again: nothing to remove, still a 204.
    assert integration.delete().status_code == 204


def test_an_app_that_loses_monitoring_gets_no_more_deliveries(
    demo_server: LiveServer, receiver: Receiver
) -> None:
    """Activities need the monitoring scope: a webhook whose app no longer has it sends
    nothing more (its tokens, issued before, still act)."""
    app = demo_server.create_app("api_services", scopes=["monitoring", "management"])
    token = demo_server.client_credentials_token(app, "monitoring management")
    with demo_server.client() as http:
        it = Integration(http, {"Authorization": f"Bearer {token}"})
        assert it.put(webhook(receiver.url())).status_code == 204
        it.reboot()
        assert len(receiver.wait_for(1, seconds=5)) == 1
        demo_server.cli("apps", "edit", app["client_id"], "--scope", "management")
        it.reboot()
        time.sleep(1.5)  # three polls of the worker
        assert len(receiver.received) == 1
        it.delete()


def test_a_delivery_logs_no_part_of_its_target(
    demo_server: LiveServer, integration: Integration, receiver: Receiver
) -> None:
    """A receiver's secret may be in its URL's path or query: the log never shows it."""
    target = receiver.url("/hooks/path-secret-d41d8cd9") + "?sig=query-secret-8f00b204"
    assert integration.put(webhook(target)).status_code == 204
    integration.reboot()
    assert len(receiver.wait_for(1, seconds=5)) == 1
    time.sleep(1.0)  # the sender logs once the answer is read, after the receiver has it
    log = demo_server.log_text()
    assert "path-secret-d41d8cd9" not in log and "query-secret-8f00b204" not in log


def _put_as_an_app_of(server: LiveServer, receiver: Receiver, scope: str) -> httpx.Response:
    """PUT /v2/webhook with the token of a new app configured with ``scope`` only."""
    app = server.create_app("api_services", scopes=[scope])
    token = server.client_credentials_token(app, scope)
    with server.client() as http:
        return http.put(
            "/v2/webhook",
            json=webhook(receiver.url()),
            headers={"Authorization": f"Bearer {token}"},
        )


def test_an_app_without_monitoring_is_refused_as_rfc_6750_says(
    demo_server: LiveServer, receiver: Receiver
) -> None:
    response = _put_as_an_app_of(demo_server, receiver, "management")
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert response.headers["www-authenticate"].startswith(
        'Bearer realm="ninja-oauth", error="insufficient_scope", error_description="Deliveries'
    )


def test_configuring_a_webhook_needs_management(
    demo_server: LiveServer, receiver: Receiver
) -> None:
    response = _put_as_an_app_of(demo_server, receiver, "monitoring")
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"


# -- the worker's rules, on a store of their own -------------------------------------------------

APP = "webhook-test-app"
NOW = 1_750_000_000


def _store_with_app(url: str, scopes: str) -> Iterator[Store]:
    """A migrated store at ``url`` holding the app whose webhook the tests register."""
    migrate(url)
    the_store = Store(url)
    with the_store.transaction() as conn:
        conn.execute(
            insert(apps).values(
                client_id=APP, name="Hooks", platform="api_services", secret_digest=None,
                redirect_uris="[]", scopes=scopes, grant_types="client_credentials",
                created_at=NOW,
            )
        )  # fmt: skip
    yield the_store
    the_store.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from _store_with_app(f"sqlite:///{tmp_path / 'hooks.db'}", "monitoring management")


def register(store: Store, url: str, box: SecretBox = BOX, **flt: Any) -> None:
    with store.transaction() as conn:
        webhook_sql.put_webhook(
            conn,
            APP,
            url=url,
            activity_filter={"activities": None, "organizationIds": None, "expand": [], **flt},
            headers=[
                {
                    "name": "Authorization",
                    "value": box.seal(SECRET, header_context(APP, "Authorization")),
                }
            ],
            now=NOW,
        )


def record_activity(store: Store, status_code: str = "SYSTEM_REBOOTED") -> int:
    with store.transaction() as conn:
        return activity_sql.insert_activity(
            conn,
            {
                "activity_time": NOW, "device_id": None, "activity_type": "SYSTEM",
                "status_code": status_code, "status": "Rebooted", "activity_result": "SUCCESS",
                "severity": "NONE", "priority": "NONE", "source_name": None, "subject": None,
                "message": "Rebooted.", "user_id": None, "client_id": APP, "data": {},
            },
        )  # fmt: skip


def deliveries(store: Store) -> list[dict[str, Any]]:
    with store.transaction() as conn:
        return [dict(r) for r in webhook_sql.deliveries_of(conn, APP)]


def make_due(store: Store) -> None:
    with store.transaction() as conn:
        conn.execute(update(webhook_deliveries).values(next_attempt_ms=0))


Answer = Callable[[httpx.Request], httpx.Response]


def deliver(store: Store, answer: Answer, hosts: tuple[str, ...] = ()) -> int:
    async def once() -> int:
        worker = WebhookDelivery(
            store, WebhookTargets.of(hosts), BOX, transport=httpx.MockTransport(answer)
        )
        try:
            return await worker.deliver_due()
        finally:
            await worker.client.aclose()

    return asyncio.run(once())


def delivered(store: Store) -> list[httpx.Request]:
    """The requests one round of deliveries posts, each answered 200."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    deliver(store, answer)
    return seen


def test_recording_an_activity_queues_a_delivery_only_for_webhooks_it_matches(
    store: Store,
) -> None:
    record_activity(store)
    assert deliveries(store) == []  # no webhook yet: nothing queued
    register(store, "http://127.0.0.1:9/hook", activities={"SYSTEM": ["NODE_UPDATED"]})
    record_activity(store)
    assert deliveries(store) == []
    register(store, "http://127.0.0.1:9/hook", activities={"SYSTEM": ["*"]})
    activity_id = record_activity(store)
    (queued,) = deliveries(store)
    assert (queued["activity_id"], queued["status"], queued["attempts"]) == (
        activity_id,
        "pending",
        0,
    )


def test_a_delivery_is_posted_to_the_checked_address_with_the_apps_headers(store: Store) -> None:
    register(store, "http://localhost:8765/hook")
    record_activity(store)
    (request,) = delivered(store)
    # localhost was resolved and checked: the request goes to that loopback address.
    assert ipaddress.ip_address(request.url.host).is_loopback
    assert request.headers["Host"] == "localhost:8765"
    assert request.headers["Authorization"] == SECRET
    assert json.loads(request.content)["statusCode"] == "SYSTEM_REBOOTED"
    (done,) = deliveries(store)
    assert (done["status"], done["attempts"], done["last_status_code"]) == ("delivered", 1, 200)
    assert delivered(store) == []  # delivered once, never again


def test_failures_back_off_exponentially_then_give_up(store: Store) -> None:
    register(store, "http://127.0.0.1:9/hook")
    record_activity(store)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        before = int(time.time() * 1000)
        assert deliver(store, lambda _: httpx.Response(503)) == 1
        (row,) = deliveries(store)
        assert row["attempts"] == attempt
        assert row["last_status_code"] == 503
        if attempt < MAX_ATTEMPTS:
            assert row["status"] == "pending"
            assert row["next_attempt_ms"] - before >= backoff_ms(attempt)
            # Not due again before its backoff.
            assert deliver(store, lambda _: httpx.Response(200)) == 0
            make_due(store)
    assert row["status"] == "gave_up"
    make_due(store)
    assert deliver(store, lambda _: httpx.Response(200)) == 0
    assert [backoff_ms(n) for n in (1, 2, 3, 4)] == [1000, 2000, 4000, 8000]
    assert backoff_ms(30) == webhook_delivery.BACKOFF_CAP_MS


def test_a_connection_error_is_recorded_by_its_type_alone(store: Store) -> None:
    register(store, "http://127.0.0.1:9/hook")
    record_activity(store)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused with {request.headers['Authorization']}")

    deliver(store, refuse)
    (row,) = deliveries(store)
    assert (row["status"], row["last_error"], row["last_status_code"]) == (
        "pending",
        "ConnectError",
        None,
    )


def test_a_host_whose_address_is_not_allowed_is_refused_at_delivery(store: Store) -> None:
    # Registered while allowed; at delivery the name resolves to a public address and the
    # operator's list no longer names it (as if DNS or the list had changed).
    register(store, "http://one.one.one.one/hook")
    record_activity(store)
    called: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        called.append(request)
        return httpx.Response(200)

    async def resolve_public(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.IPv4Address("1.1.1.1")]

    async def resolve_metadata(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.IPv4Address("169.254.169.254")]

    for resolve, hosts, problem in (
        (resolve_public, (), "1.1.1.1 is not an allowed address"),
        (resolve_metadata, ("one.one.one.one",), "169.254.169.254 is a link-local"),
    ):

        async def once() -> None:
            worker = WebhookDelivery(
                store,
                WebhookTargets.of(hosts),
                BOX,
                transport=httpx.MockTransport(answer),
                resolve=resolve,
            )
            try:
                await worker.deliver_due()
            finally:
                await worker.client.aclose()

        make_due(store)
        asyncio.run(once())
        (row,) = deliveries(store)
        assert row["last_error"].startswith(f"refused: {problem}"), row["last_error"]
    assert called == []


def test_a_removed_webhooks_pending_deliveries_go_with_it(store: Store) -> None:
    register(store, "http://127.0.0.1:9/hook")
    record_activity(store)
    with store.transaction() as conn:
        assert webhook_sql.delete_webhook(conn, APP) is True
        assert webhook_sql.delete_webhook(conn, APP) is False
    assert deliveries(store) == []


def test_two_workers_never_claim_the_same_delivery(store: Store) -> None:
    register(store, "http://127.0.0.1:9/hook")
    for _ in range(30):
        record_activity(store)
    now = int(time.time() * 1000)
    with store.transaction() as conn:
        first = {r["id"] for r in webhook_sql.claim_due(conn, now, 60_000, 20)}
    with store.transaction() as conn:
        second = {r["id"] for r in webhook_sql.claim_due(conn, now, 60_000, 20)}
    assert len(first) == 20 and len(second) == 10 and not first & second
    with store.transaction() as conn:
        assert webhook_sql.claim_due(conn, now, 60_000, 20) == []


@pytest.fixture(scope="module")
def pg(pg_database_url: str) -> Iterator[Store]:
    yield from _store_with_app(pg_database_url, "monitoring")


def test_registering_again_replaces_the_webhook_on_postgresql(pg: Store) -> None:
    register(pg, "http://127.0.0.1:9/first")
    register(pg, "http://127.0.0.1:9/second", activities={"SYSTEM": []})
    with pg.transaction() as conn:
        hook = webhook_sql.get_webhook(conn, APP)
    assert hook is not None
    assert (hook["url"], hook["activities"]["activities"]) == (
        "http://127.0.0.1:9/second",
        {"SYSTEM": []},
    )


def test_two_workers_never_claim_the_same_delivery_on_postgresql(pg: Store) -> None:
    register(pg, "http://127.0.0.1:9/hook")
    for _ in range(40):
        record_activity(pg)
    now = int(time.time() * 1000)
    start = threading.Barrier(4)
    claims: list[set[int]] = []

    def claim() -> None:
        start.wait()
        with pg.engine.begin() as conn:
            rows = webhook_sql.claim_due(conn, now, 60_000, 15)
            time.sleep(0.2)  # hold the claim while the others run
        claims.append({r["id"] for r in rows})

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    claimed = [i for c in claims for i in c]
    assert len(claimed) == len(set(claimed)) == 40  # every row once, none twice


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8080/h", True),
        ("http://127.9.9.9/h", True),
        ("http://[::1]/h", True),
        ("https://localhost/h", True),
        ("http://LOCALHOST./h", True),
        ("https://hooks.example.net/h", True),  # listed
        ("https://HOOKS.example.net./h", True),
        ("http://example.net/h", False),
        ("http://10.0.0.5/h", False),
        ("http://169.254.169.254/", False),
        ("http://169.254.169.254.nip.io/", False),
        ("http://2852039166/", False),  # 169.254.169.254 spelt as one number
        ("http://0xa9.0xfe.0xa9.0xfe/", False),
        ("http://[::ffff:169.254.169.254]/", False),
        ("http://[fd00:ec2::254]/", False),
        ("http://metadata.google.internal/", False),
        ("http://user:pw@127.0.0.1/", False),
        ("ftp://127.0.0.1/", False),
        ("http:///nohost", False),
        ("http://127.0.0.1:99999/", False),
    ],
)
def test_where_a_webhook_may_point(url: str, allowed: bool) -> None:
    targets = WebhookTargets.of(
        ["hooks.example.net", "169.254.169.254", "metadata.google.internal"]
    )
    assert (targets.url_refusal(url) is None) is allowed


def test_link_local_and_metadata_addresses_are_refused_even_when_listed() -> None:
    targets = WebhookTargets.of(["169.254.169.254", "fd00:ec2::254", "hooks.example.net"])
    assert targets.url_refusal("http://169.254.169.254/") is not None
    assert targets.url_refusal("http://[fd00:ec2::254]/") is not None
    ip = ipaddress.ip_address
    public = ip("93.184.215.14")
    assert targets.addresses_refusal("hooks.example.net", [public]) is None
    assert targets.addresses_refusal("hooks.example.net", [public, ip("fe80::1")])
    assert targets.addresses_refusal("other.example.net", [public])
    assert targets.addresses_refusal("localhost", [ip("127.0.0.1"), ip("::1")]) is None
    # The metadata address through IPv6 translations, and the unspecified addresses.
    for hidden in ("64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "::ffff:169.254.169.254", "0.0.0.0"):
        assert targets.addresses_refusal("hooks.example.net", [ip(hidden)]), hidden
    assert targets.url_refusal("http://[64:ff9b::a9fe:a9fe]/") is not None
    assert targets.url_refusal("http://168.63.129.16/") is not None  # Azure's wire server


def test_a_listed_name_may_not_resolve_into_the_internal_network_unless_listed_too() -> None:
    """Whoever controls a listed name's DNS chooses its addresses: a private one is refused,
    unless the operator listed that address as well."""
    ip = ipaddress.ip_address
    targets = WebhookTargets.of(["hooks.example.net"])
    for internal in ("10.0.0.5", "192.168.1.9", "fd12::1", "64:ff9b::a00:5"):
        assert targets.addresses_refusal("hooks.example.net", [ip(internal)]), internal
    assert targets.addresses_refusal("hooks.example.net", [ip("127.0.0.1")]) is None
    listed = WebhookTargets.of(["hooks.example.net", "10.0.0.5"])
    assert listed.addresses_refusal("hooks.example.net", [ip("10.0.0.5")]) is None


def test_loopback_targets_can_be_turned_off() -> None:
    ip = ipaddress.ip_address
    closed = WebhookTargets.of(["hooks.example.net"], allow_loopback=False)
    for url in ("http://127.0.0.1:9000/hook", "http://localhost/hook", "http://[::1]/hook"):
        assert closed.url_refusal(url) is not None, url
    assert closed.url_refusal("https://hooks.example.net/hook") is None
    assert closed.addresses_refusal("hooks.example.net", [ip("127.0.0.1")])


def test_only_an_administrators_token_or_the_apps_own_configures_a_webhook(store: Store) -> None:
    with store.transaction() as conn:
        for email, admin in (("admin@example.test", True), ("tech@example.test", False)):
            conn.execute(
                insert(users).values(
                    email=email, password_hash="$argon2id$x", is_admin=admin, created_at=NOW
                )
            )
        ids = dict(conn.execute(select(users.c.email, users.c.id)).tuples().all())
    body = WebhookConfiguration.model_validate({"url": "http://127.0.0.1:9/hook"})

    def grant(user_id: int | None) -> AccessGrant:
        return AccessGrant(1, APP, user_id, frozenset({"management"}), NOW + 3600)

    with pytest.raises(AdminOnly, match="Only system administrators can configure webhooks"):
        configure(store, body, grant(ids["tech@example.test"]), BOX)
    configure(store, body, grant(ids["admin@example.test"]), BOX)
    configure(store, body, grant(None), BOX)  # client_credentials: the app's own
    twice = WebhookConfiguration.model_validate(
        {
            "url": "http://127.0.0.1:9/hook",
            "headers": [{"name": "X-Key", "value": "a"}, {"name": "x-key", "value": "b"}],
        }
    )
    with pytest.raises(ApiError, match="headers: a header name is given twice"):
        configure(store, twice, grant(None), BOX)
    # Removing it asks the same of the caller.
    with pytest.raises(AdminOnly, match="Only system administrators"):
        remove(store, grant(ids["tech@example.test"]))
    remove(store, grant(None))


def test_an_app_without_the_monitoring_scope_gets_no_webhook(store: Store) -> None:
    """Deliveries carry activities, which GET /v2/activities serves with monitoring only."""
    with store.transaction() as conn:
        conn.execute(update(apps).where(apps.c.client_id == APP).values(scopes="management"))
    body = WebhookConfiguration.model_validate({"url": "http://127.0.0.1:9/hook"})
    grant = AccessGrant(1, APP, None, frozenset({"management"}), NOW + 3600)
    with pytest.raises(AdminOnly, match="need the monitoring scope"):
        configure(store, body, grant, BOX)


def test_a_header_value_is_never_quoted_in_an_error() -> None:
    with pytest.raises(ValidationError) as refused:
        WebhookConfiguration.model_validate(
            {"url": "http://127.0.0.1/", "headers": [{"name": "X-Key", "value": "s3cr3t\r\nX: y"}]}
        )
    assert "s3cr3t" not in str(refused.value.errors(include_input=False))
    header = HTTPHeader(name="Authorization", value=SECRET)
    assert SECRET not in repr(header)


# -- the custom header values are stored sealed -----------------------------------------------


def test_header_values_are_stored_sealed_and_sent_in_clear(store: Store) -> None:
    body = WebhookConfiguration.model_validate(
        {
            "url": "http://localhost:8765/hook",
            "headers": [{"name": "Authorization", "value": SECRET}],
        }
    )
    configure(store, body, AccessGrant(1, APP, None, frozenset({"management"}), NOW + 3600), BOX)
    with store.transaction() as conn:
        (stored,) = webhook_sql.webhooks_by_client(conn, [APP])[APP]["headers"]
    assert stored["name"] == "Authorization"
    assert SECRET not in stored["value"] and "receiver-secret" not in stored["value"]
    record_activity(store)
    (request,) = delivered(store)
    assert request.headers["Authorization"] == SECRET


def test_a_value_sealed_under_another_key_is_never_sent(store: Store) -> None:
    """After the secret key changed, the webhook's header values cannot be opened: the delivery
    is given up at once, and nothing is posted without them."""
    other = SecretBox(SecretHasher(b"another-secret-key-" * 2).subkey(WEBHOOK_HEADERS))
    register(store, "http://127.0.0.1:9/hook", box=other)
    record_activity(store)
    posted: list[httpx.Request] = []
    assert deliver(store, lambda r: posted.append(r) or httpx.Response(200)) == 0
    assert posted == []
    (row,) = deliveries(store)
    assert (row["status"], row["last_error"]) == ("gave_up", "ValueError")
