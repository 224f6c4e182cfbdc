"""The background WAL checkpointer of a SQLite file.

WAL with ``synchronous=NORMAL`` syncs to disk only at checkpoints. The group commit's writes on
the event loop never checkpoint (``wal_autocheckpoint=0``), so that no request waits for the
disk: this thread does it instead.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from ninja_oauth.store.writer import FileLock

# How often it copies the WAL into the database, and the WAL length (in 4 KiB pages) past which
# it holds the writers back for a moment to start the WAL over. Without that the WAL would only
# grow under a steady load: it starts over only when a writer finds no reader on it, and some
# worker is always reading.
CHECKPOINT_EVERY = 0.25
CHECKPOINT_RESTART_PAGES = 8000
RESTART_WAIT_MS = 20


class Checkpointer:
    """A daemon thread, started with the first group commit, stopped with the store."""

    def __init__(self, path: Path | None, lock: FileLock) -> None:
        self._path = path
        self._lock = lock
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()
        self._closing = threading.Event()

    def start(self) -> None:
        """Start the thread unless it runs already (cheap: called with every group commit)."""
        if self._thread is None:
            with self._starting:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._loop, name="ninja-checkpoint", daemon=True
                    )
                    self._thread.start()

    def close(self) -> None:
        self._closing.set()
        if self._thread is not None:
            self._thread.join()  # a pass takes milliseconds (RESTART_WAIT_MS at most waiting)

    def _loop(self) -> None:
        """Copy the WAL back into the database off the event loop (the loop's writes never
        checkpoint). Errors are tried again on the next pass; the WAL stays valid meanwhile."""
        conn: sqlite3.Connection | None = None
        try:
            while not self._closing.wait(CHECKPOINT_EVERY):
                try:
                    if conn is None:
                        conn = sqlite3.connect(str(self._path), isolation_level=None)
                        conn.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
                    self._checkpoint(conn)
                except (sqlite3.Error, OSError):
                    continue
        finally:
            if conn is not None:
                conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        """A passive checkpoint runs beside the writers and does the bulk of the copying. A
        long WAL that it copied whole is then restarted, holding this store's writers back
        for a moment (their loops try again meanwhile); a reader still on the WAL makes the
        restart give up after RESTART_WAIT_MS, to be tried on a later pass. The first write
        into a restarted WAL syncs its new header to disk: it is made here too, not by a
        request on the event loop."""
        _, pages, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if pages <= CHECKPOINT_RESTART_PAGES or copied < pages:
            return
        with self._lock.held():
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            if not busy:
                # Rewriting the header's user_version with its value is a one-page write.
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                conn.execute(f"PRAGMA user_version={version}")
