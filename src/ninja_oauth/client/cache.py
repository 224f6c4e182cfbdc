"""The token cache: `tokens.json`, mode 0600, keyed by base URL and client ID (DESIGN §6)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import platformdirs

from ninja_oauth.client.errors import ProtocolError
from ninja_oauth.client.tokens import Token

try:  # POSIX; elsewhere the cache is guarded within one process only.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

CACHE_DIR_ENV = "NINJA_OAUTH_CACHE_DIR"
_FORMAT_VERSION = 1


def default_cache_dir() -> Path:
    """`$NINJA_OAUTH_CACHE_DIR`, else platformdirs' `user_cache_dir("ninja-oauth")`."""
    override = os.environ.get(CACHE_DIR_ENV)
    return Path(override) if override else Path(platformdirs.user_cache_dir("ninja-oauth"))


class TokenCache:
    """Tokens of logged-in clients, shared by every process of the user.

    The file holds refresh tokens, so it is created 0600 in a 0700 directory and replaced
    atomically; `lock()` serialises refreshes across processes, because with rotating refresh
    tokens two processes refreshing at once would look like a replay to the server.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.path = self.directory / "tokens.json"
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._lock_file: int | None = None

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive, re-entrant lock on the cache across threads and processes."""
        with self._thread_lock:
            if self._depth == 0:
                self._open_lock_file()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._close_lock_file()

    def _open_lock_file(self) -> None:
        self._ensure_directory()
        fd = os.open(self.directory / "tokens.lock", os.O_RDWR | os.O_CREAT, 0o600)
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        self._lock_file = fd

    def _close_lock_file(self) -> None:
        if self._lock_file is not None:
            if fcntl is not None:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            os.close(self._lock_file)
            self._lock_file = None

    def _ensure_directory(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            # An unreadable cache is an empty one: the user logs in again, and saving replaces it.
            return {}
        if not isinstance(data, dict) or data.get("version") != _FORMAT_VERSION:
            return {}
        tokens = data.get("tokens")
        if not isinstance(tokens, dict):
            return {}
        # A server's entry that is not a mapping of clients is as unreadable as the rest.
        return {base: clients for base, clients in tokens.items() if isinstance(clients, dict)}

    def _write(self, tokens: dict[str, dict[str, Any]]) -> None:
        self._ensure_directory()
        body = json.dumps({"version": _FORMAT_VERSION, "tokens": tokens}, indent=2)
        # mkstemp creates the file 0600; os.replace makes the new content appear at once.
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tokens.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def load(self, base_url: str, client_id: str) -> Token | None:
        """The cached token of this client on this server, if any."""
        with self.lock():
            entry = self._read().get(base_url, {}).get(client_id)
        if not isinstance(entry, dict):
            return None
        try:
            return Token.from_dict(entry)
        except (ValueError, ProtocolError):
            return None

    def save(self, base_url: str, client_id: str, token: Token) -> None:
        with self.lock():
            tokens = self._read()
            tokens.setdefault(base_url, {})[client_id] = token.to_dict()
            self._write(tokens)

    def delete(self, base_url: str, client_id: str) -> bool:
        """Forget this client's token; True if there was one."""
        with self.lock():
            tokens = self._read()
            clients = tokens.get(base_url, {})
            if client_id not in clients:
                return False
            del clients[client_id]
            if not clients:
                del tokens[base_url]
            self._write(tokens)
            return True

    def client_ids(self, base_url: str) -> list[str]:
        """The client IDs with a cached token on this server."""
        with self.lock():
            return sorted(self._read().get(base_url, {}))
