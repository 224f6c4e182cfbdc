"""Sign-in requests waiting for login or consent, bounded per address (store/repositories/pending)."""

from __future__ import annotations

import time

import pytest

from ninja_oauth.limits import PendingLimits
from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories.pending import AddressFull, SqlPending


def test_the_addresses_of_one_ipv6_64_share_its_limit_and_another_64_has_its_own(
    store: Store,
) -> None:
    pending = SqlPending(store, PendingLimits(per_browser=10, per_address=2))
    now = int(time.time())
    params = {"client_id": "x"}
    pending.create("browser-1", params, now, "2001:db8:5:6::1")
    pending.create("browser-2", params, now, "2001:db8:5:6:ffff::2")
    with pytest.raises(AddressFull):
        pending.create("browser-3", params, now, "2001:db8:5:6::3")
    pending.create("browser-4", params, now, "2001:db8:5:7::1")
    # IPv4 addresses are each their own.
    pending.create("browser-5", params, now, "192.0.2.10")
    pending.create("browser-6", params, now, "192.0.2.10")
    pending.create("browser-7", params, now, "192.0.2.11")
