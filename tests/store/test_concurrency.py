"""Single use under contention: many threads (each its own transaction) race for one code or one
refresh token, and exactly one wins (SQLite: the writer lock; PostgreSQL: row locks). The races
of two transactions hold the first open at the point that matters and prove that the second
waited for it (``Holdup``) before letting the first go on."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from sqlalchemy import Connection, text

from ninja_oauth.oauth.domain import App, AuthorizationCode, NewToken, User
from ninja_oauth.oauth.ports import AlreadyUsed, Consumed, Missing, Repositories, Rotated
from ninja_oauth.store.db import Store

THREADS = 16
NOW = 1_700_000_000
T = TypeVar("T")


def _race(store: Store, attempt: Callable[[], T]) -> list[T]:
    """Run ``attempt`` on THREADS threads released at once, each in its own transaction."""
    barrier = threading.Barrier(THREADS)

    def one() -> T:
        barrier.wait(timeout=30)
        with store.transaction():
            return attempt()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(one) for _ in range(THREADS)]
        return [f.result(timeout=60) for f in futures]


class _WatchedLock:
    """Stands in for the thread lock of the store's write lock (writer.FileLock): the same lock,
    which also records that a thread found it taken and is waiting for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.waited = threading.Event()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._lock.acquire(blocking=False):
            return True
        if not blocking:
            return False
        self.waited.set()
        return self._lock.acquire(timeout=timeout)

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class Holdup:
    """Transaction 1 held open at one point (``hold``) while transaction 2 is proven to wait for
    it, then let go. SQLite: 2 is blocked on the store's write lock. PostgreSQL: 2's backend
    waits on a lock (wait_event_type 'Lock') that 1's backend holds (pg_blocking_pids), as a
    third connection sees it in pg_stat_activity."""

    def __init__(self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        self._store = store
        self._held = threading.Event()
        self._release = threading.Event()
        self._second_began = threading.Event()
        self._pids: dict[str, int] = {}
        self._lock = _WatchedLock()
        if store.dialect == "sqlite":
            monkeypatch.setattr(store._lock, "_threads", self._lock)

    def first(self, conn: Connection) -> None:
        """Transaction 1 has begun on ``conn``."""
        self._record("first", conn)

    def hold(self) -> None:
        """In transaction 1: wait here until transaction 2 is proven to wait."""
        self._held.set()
        assert self._release.wait(timeout=10)

    def second(self, conn: Connection) -> None:
        """Transaction 2 has begun on ``conn`` (on SQLite: once 1 has committed)."""
        self._record("second", conn)
        self._second_began.set()

    def run(self, first: Callable[[], None], second: Callable[[], None]) -> None:
        with ThreadPoolExecutor(max_workers=2) as pool:
            one = pool.submit(first)
            try:
                assert self._held.wait(timeout=10), "transaction 1 never reached its hold"
                two = pool.submit(second)
                self._assert_second_waits()
                assert not two.done()
            finally:
                self._release.set()
            one.result(timeout=30)
            two.result(timeout=30)

    def _record(self, name: str, conn: Connection) -> None:
        if self._store.dialect == "postgresql":
            self._pids[name] = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()

    def _assert_second_waits(self) -> None:
        if self._store.dialect == "sqlite":
            assert self._lock.waited.wait(timeout=10), "transaction 2 never waited for the lock"
            return
        assert self._second_began.wait(timeout=10)
        waiter, holder = self._pids["second"], self._pids["first"]
        deadline = time.monotonic() + 10
        seen = None
        while time.monotonic() < deadline:
            # A new connection each time: pg_stat_activity is a snapshot per transaction.
            with self._store.engine.connect() as conn:
                seen = conn.execute(
                    text(
                        "SELECT wait_event_type, pg_blocking_pids(pid) FROM pg_stat_activity "
                        "WHERE pid = :pid"
                    ),
                    {"pid": waiter},
                ).one_or_none()
            if seen is not None and seen[0] == "Lock" and holder in seen[1]:
                return
            time.sleep(0.01)  # polling what the server reports, bounded by the deadline
        pytest.fail(f"transaction 2 never waited for transaction 1's lock (last seen: {seen})")


@pytest.fixture
def holdup(store: Store, monkeypatch: pytest.MonkeyPatch) -> Holdup:
    return Holdup(store, monkeypatch)


def _digest() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


def _token(app: App, user: User, grant_id: str) -> NewToken:
    return NewToken(
        access_digest=_digest(),
        refresh_digest=_digest(),
        client_id=app.client_id,
        user_id=user.id,
        scope="monitoring offline_access",
        refresh_scope="monitoring offline_access",
        grant_id=grant_id,
        grant_type="authorization_code",
        issued_at=NOW,
        access_expires_at=NOW + 3600,
        refresh_expires_at=NOW + 86400,
    )


def test_sixteen_threads_consuming_one_code_give_exactly_one_consumed(
    store: Store, repos: Repositories, register: Callable[..., App], user: User
) -> None:
    app = register()
    digest = _digest()
    code = AuthorizationCode(
        client_id=app.client_id,
        user_id=user.id,
        redirect_uri="https://client.example/callback",
        scope="monitoring",
        grant_id=uuid.uuid4().hex,
        expires_at=NOW + 60,
    )
    repos.codes.save(digest, code)
    results = _race(store, lambda: repos.codes.consume(digest, app.client_id, NOW))
    assert results.count(Consumed(code)) == 1
    assert results.count(AlreadyUsed(grant_id=code.grant_id, client_id=app.client_id)) == 15


def test_sixteen_threads_rotating_one_refresh_token_give_exactly_one_rotated(
    store: Store, repos: Repositories, register: Callable[..., App], user: User
) -> None:
    app = register()
    token = _token(app, user, uuid.uuid4().hex)
    repos.tokens.save(token)
    results = _race(
        store, lambda: repos.tokens.rotate(token.refresh_digest or "", app.client_id, NOW)
    )
    assert sum(isinstance(r, Rotated) for r in results) == 1
    assert results.count(AlreadyUsed(grant_id=token.grant_id, client_id=app.client_id)) == 15


def test_a_replay_racing_the_first_redemption_still_revokes_the_token_it_issued(
    store: Store, repos: Repositories, register: Callable[..., App], user: User, holdup: Holdup
) -> None:
    # DESIGN §6: redemption and its token insert are one transaction, so a replay that arrives
    # while the first use is still issuing waits for it, then revokes what it issued.
    app = register()
    digest = _digest()
    grant_id = uuid.uuid4().hex
    code = AuthorizationCode(
        client_id=app.client_id,
        user_id=user.id,
        redirect_uri="https://client.example/callback",
        scope="monitoring",
        grant_id=grant_id,
        expires_at=NOW + 60,
    )
    repos.codes.save(digest, code)
    issued = _token(app, user, grant_id)
    replay_result: list[object] = []

    def first_use() -> None:
        with store.transaction() as conn:
            holdup.first(conn)
            assert repos.codes.consume(digest, app.client_id, NOW) == Consumed(code)
            holdup.hold()  # the replay arrives while the token is being issued
            repos.tokens.save(issued)

    def replay() -> None:
        with store.transaction() as conn:
            holdup.second(conn)
            result = repos.codes.consume(digest, app.client_id, NOW)
            replay_result.append(result)
            if isinstance(result, AlreadyUsed):
                replay_result.append(
                    repos.tokens.revoke_family(app.client_id, result.grant_id, NOW)
                )

    holdup.run(first_use, replay)
    assert replay_result == [AlreadyUsed(grant_id=grant_id, client_id=app.client_id), 1]
    assert repos.tokens.find_access(issued.access_digest) is None


def test_a_reuse_racing_the_rotation_still_revokes_the_new_refresh_token(
    store: Store, repos: Repositories, register: Callable[..., App], user: User, holdup: Holdup
) -> None:
    app = register()
    grant_id = uuid.uuid4().hex
    old = _token(app, user, grant_id)
    repos.tokens.save(old)
    new = _token(app, user, grant_id)
    reuse_result: list[object] = []

    def rotation() -> None:
        with store.transaction() as conn:
            holdup.first(conn)
            assert isinstance(
                repos.tokens.rotate(old.refresh_digest or "", app.client_id, NOW), Rotated
            )
            holdup.hold()  # the reuse arrives before the new token is saved
            repos.tokens.save(new)

    def reuse() -> None:
        with store.transaction() as conn:
            holdup.second(conn)
            result = repos.tokens.rotate(old.refresh_digest or "", app.client_id, NOW)
            reuse_result.append(result)
            if isinstance(result, AlreadyUsed):
                reuse_result.append(repos.tokens.revoke_family(app.client_id, result.grant_id, NOW))

    holdup.run(rotation, reuse)
    assert reuse_result == [AlreadyUsed(grant_id=grant_id, client_id=app.client_id), 2]
    assert repos.tokens.rotate(new.refresh_digest or "", app.client_id, NOW) == Missing()
    assert repos.tokens.find_access(new.access_digest) is None


def test_concurrent_consents_for_one_user_and_app_all_end_up_remembered(
    store: Store, repos: Repositories, register: Callable[..., App], user: User
) -> None:
    # Two browser tabs may approve at once; DESIGN §6 stores the union of what was granted.
    app = register()
    scopes = ["monitoring", "management", "control", "offline_access"]
    counter = iter(range(THREADS))
    lock = threading.Lock()

    def remember() -> None:
        with lock:
            i = next(counter)
        repos.consents.remember(user.id, app.client_id, {scopes[i % 4]}, NOW + i)

    _race(store, remember)
    assert repos.consents.granted(user.id, app.client_id) == set(scopes)


def test_sixteen_concurrent_failures_on_one_key_are_all_counted(
    store: Store, repos: Repositories
) -> None:
    # One upsert per failure (DESIGN §6): no lost update, so the 16th failure reaches the limit.
    key = f"client:{uuid.uuid4().hex}|192.0.2.1"
    _race(store, lambda: repos.throttle.record_failure(key, 16, 300, 60, NOW))
    assert repos.throttle.blocked_for([key], NOW) == 60


def test_revoking_a_family_also_catches_the_token_a_concurrent_rotation_is_inserting(
    store: Store, repos: Repositories, register: Callable[..., App], user: User, holdup: Holdup
) -> None:
    # The interleaving that escaped on PostgreSQL: a rotation T2 -> T3 holds T2's row lock
    # while a reuse of T1 revokes the family. The revocation must wait for the rotation and
    # then revoke T3 too (DESIGN §6: "no ordering escapes").
    app = register()
    grant_id = uuid.uuid4().hex
    t1, t2 = _token(app, user, grant_id), _token(app, user, grant_id)
    repos.tokens.save(t1)
    repos.tokens.save(t2)
    assert isinstance(repos.tokens.rotate(t1.refresh_digest or "", app.client_id, NOW), Rotated)
    t3 = _token(app, user, grant_id)

    def rotate_slowly() -> None:
        with store.transaction() as conn:
            holdup.first(conn)
            assert isinstance(
                repos.tokens.rotate(t2.refresh_digest or "", app.client_id, NOW), Rotated
            )
            repos.tokens.save(t3)
            holdup.hold()  # the revocation arrives while this transaction is open

    def revoke() -> None:
        with store.transaction() as conn:
            holdup.second(conn)
            repos.tokens.revoke_family(app.client_id, grant_id, NOW)

    holdup.run(rotate_slowly, revoke)
    assert repos.tokens.find_access(t3.access_digest) is None
    assert isinstance(repos.tokens.rotate(t3.refresh_digest or "", app.client_id, NOW), Missing)
