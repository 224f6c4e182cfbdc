"""How fast a /v2/queries report pages over 10,000 devices on SQLite (issue 14: under 100 ms).

Builds a SQLite database (migrated, the demo data, then copies of its devices up to 10,000, each
with a few software items), then times pages of /v2/queries/software through the Public API's
ASGI app in-process (Starlette's TestClient: the guard, the parameters, the SQL and the JSON, no
network): the first page, pages deep in the report by following the cursor, and a df-filtered
page. Prints the median and p95 of each, in ms. Run by hand:

    .venv/bin/python bench/queries.py [--devices 10000] [--page-size 1000] [--rounds 30]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from ninja_oauth.api import build_public_api
from ninja_oauth.oauth import secrets as s
from ninja_oauth.oauth.secrets import SecretHasher
from ninja_oauth.store.api_tables import device_inventory, devices
from ninja_oauth.store.db import Store
from ninja_oauth.store.demo_api import load_demo_api_data
from ninja_oauth.store.migrate import migrate
from ninja_oauth.store.tables import apps, tokens

NOW = 1_750_000_000
KEY = b"b" * 40
APP_ID = "bench-queries"


def build(path: Path, total: int) -> tuple[Store, str]:
    url = f"sqlite:///{path}"
    migrate(url)
    store = Store(url)
    load_demo_api_data(store, now=NOW)
    rng = random.Random(14)
    with store.transaction() as conn:
        template = [dict(r) for r in conn.execute(select(devices)).mappings()]
        software = [
            dict(r)
            for r in conn.execute(
                select(device_inventory).where(device_inventory.c.kind == "software")
            ).mappings()
        ]
        have = int(conn.execute(select(func.count()).select_from(devices)).scalar() or 0)
        items = [{k: v for k, v in r.items() if k not in ("id", "device_id")} for r in software]
        batch: list[dict[str, Any]] = []
        for n in range(have, total):
            row = {k: v for k, v in rng.choice(template).items() if k != "id"}
            row |= {"uid": str(uuid.UUID(int=rng.getrandbits(128))),
                    "system_name": f"BENCH-{n:05d}", "approval_status": "APPROVED"}  # fmt: skip
            batch.append(row)
        ids = [
            int(r.id)
            for r in conn.execute(
                insert(devices).returning(devices.c.id, sort_by_parameter_order=True), batch
            )
        ]
        rows = [
            {**item, "device_id": device_id}
            for device_id in ids
            for item in rng.sample(items, rng.randint(3, 6))
        ]
        for start in range(0, len(rows), 5000):
            conn.execute(insert(device_inventory), rows[start : start + 5000])
        conn.execute(
            insert(apps).values(
                client_id=APP_ID, name="bench", platform="api_services", secret_digest=None,
                redirect_uris="[]", scopes="monitoring", grant_types="client_credentials",
                created_at=NOW,
            )
        )  # fmt: skip
        token = s.new_access_token()
        issued = int(time.time())
        conn.execute(
            insert(tokens).values(
                access_digest=SecretHasher(KEY).access_key(token), client_id=APP_ID,
                user_id=None, scope="monitoring", grant_id=uuid.uuid4().hex,
                grant_type="client_credentials", issued_at=issued,
                access_expires_at=issued + 86_400,
            )
        )  # fmt: skip
        counts = (
            conn.execute(select(func.count()).select_from(devices)).scalar(),
            conn.execute(
                select(func.count())
                .select_from(device_inventory)
                .where(device_inventory.c.kind == "software")
            ).scalar(),
        )
    print(f"database: {counts[0]} devices, {counts[1]} software items ({path})")
    return store, token


def timed(client: TestClient, url: str, headers: dict[str, str]) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    response = client.get(url, headers=headers)
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return elapsed, body


def report(label: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(f"{label:<44} median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms"
          f"   (n={len(ordered)})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store, token = build(Path(tmp) / "bench.db", args.devices)
        headers = {"Authorization": f"Bearer {token}"}
        api = build_public_api(store, SecretHasher(KEY), "https://bench.example.test")
        base = f"/v2/queries/software?pageSize={args.page_size}"
        try:
            with TestClient(api.reads) as client:
                for _ in range(3):  # warm-up: the route, pydantic, SQLite's page cache
                    timed(client, base, headers)
                first = [timed(client, base, headers)[0] for _ in range(args.rounds)]
                # Follow the cursor through the whole report: every page, first to last.
                walk: list[float] = []
                url, seen = base, 0
                while True:
                    elapsed, body = timed(client, url, headers)
                    walk.append(elapsed)
                    seen += len(body["results"])
                    name = body["cursor"].get("name")
                    if not name:
                        break
                    url = f"{base}&cursor={name}"
                deep = walk[len(walk) // 2 :]
                filtered_url = f"{base}&df=org%20%3D%203"
                filtered = [timed(client, filtered_url, headers)[0] for _ in range(args.rounds)]
                installed = f"{base}&installedAfter=20240101&df=class%20%3D%20WINDOWS_SERVER"
                narrow = [timed(client, installed, headers)[0] for _ in range(args.rounds)]
                # A filter few devices pass: the page reads on through the kind's index.
                rare_url = f"{base}&df=org%20%3D%205%20AND%20class%20%3D%20MAC"
                rare = [timed(client, rare_url, headers)[0] for _ in range(args.rounds)]
        finally:
            store.close()
    print(f"pageSize={args.page_size}; the whole report: {seen} items in {len(walk)} pages")
    report("first page", first)
    report("every page, following the cursor", walk)
    report("second half of the report (deep pages)", deep)
    report("df=org = 3", filtered)
    report("df=class = WINDOWS_SERVER, installedAfter", narrow)
    report("df=org = 5 AND class = MAC (few devices)", rare)


if __name__ == "__main__":
    main()
