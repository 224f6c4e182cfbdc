"""The writer path: the file lock the processes of one SQLite file take turns on, and the thread
pool that runs this process's writes.

SQLite (WAL, ``synchronous=NORMAL``) allows one writer at a time across all processes. Instead of
letting workers race for its lock (its busy handler sleeps and retries, which multiplies p99),
each process funnels writes through one thread, and processes take turns on an ``flock`` beside
the database file, which wakes a waiter the moment the lock is free. On PostgreSQL the writes
use a small thread pool; every racing state change is one atomic statement there.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from ninja_oauth.store.engine import connection_lost

T = TypeVar("T")

WRITER_PREFIX = "ninja-writer"


class FileLock:
    """The lock every writer of a SQLite file takes: an ``flock`` on a file beside the database
    (across processes) behind a thread lock (an ``flock`` belongs to the open file, which this
    process's threads share). Without a path (PostgreSQL, in-memory SQLite) it locks nothing."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._fd: int | None = None
        self._threads = threading.Lock()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Wait for the lock and hold it."""
        if self.path is None:
            yield
            return
        with self._threads:
            fd = self._descriptor()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def acquire_now(self) -> bool:
        """Take the lock if it is free at this instant (never waits); ``release`` it after."""
        if not self._threads.acquire(blocking=False):
            return False
        try:
            fcntl.flock(self._descriptor(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._threads.release()
            return False
        except BaseException:
            self._threads.release()
            raise
        return True

    def release(self) -> None:
        """Release a lock taken by ``acquire_now``."""
        try:
            assert self._fd is not None
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _descriptor(self) -> int:
        """The lock file, opened once (under the thread lock)."""
        if self._fd is None:
            assert self.path is not None
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    def close(self) -> None:
        with self._threads:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


class _WriterThread(threading.local):
    # A class-level default: see unit_of_work._PerThread.
    conn: Connection | None = None  # a writer-path thread's own connection


class WriterPath:
    """This process's writer threads (named WRITER_PREFIX-n), each keeping its connection."""

    def __init__(self, write_engine: Engine, threads: int) -> None:
        self._engine = write_engine
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=WRITER_PREFIX)
        self._local = _WriterThread()
        self._connections: list[Connection] = []
        self._lock = threading.Lock()
        # A kept connection may have been closed by the server while idle (a restart).
        self._may_be_lost = write_engine.dialect.name == "postgresql"

    def connection(self, stack: contextlib.ExitStack) -> Connection:
        """The writer path's threads keep their connection open (a pool checkout and reset per
        token costs more than the INSERT itself); other threads borrow one from the pool."""
        if not threading.current_thread().name.startswith(WRITER_PREFIX):
            return stack.enter_context(self._engine.connect())
        conn: Connection | None = self._local.conn
        if conn is not None and (
            conn.closed
            or conn.invalidated
            or (self._may_be_lost and connection_lost(conn.connection.driver_connection))
        ):
            self.discard_connection()
            conn = None
        if conn is None:
            conn = self._engine.connect()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def discard_connection(self) -> None:
        """Drop the calling writer thread's kept connection (the database was lost under it):
        its next write opens a new one."""
        conn: Connection | None = self._local.conn
        if conn is None:
            return
        self._local.conn = None
        with self._lock:
            self._connections.remove(conn)
        with contextlib.suppress(Exception):
            conn.invalidate()
            conn.close()

    async def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on a writer thread; ``fn`` opens ``transaction()`` as needed."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn)

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn(*args)`` for a writer thread without waiting for it."""
        self._executor.submit(fn, *args)

    def close(self) -> None:
        """Wait for the writes still queued or running, then close the threads' connections."""
        self._executor.shutdown(wait=True)
        for conn in self._connections:
            with contextlib.suppress(Exception):
                conn.close()
        self._connections.clear()
