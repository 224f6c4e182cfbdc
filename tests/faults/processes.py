"""A `ninja-oauth serve` that a fault test may kill, and the load it is killed under.

The server runs in its own session (its own process group), so that ``kill_all`` can send
SIGKILL to the parent and every worker at once without touching pytest; its workers are found
in /proc. The load is a few threads, each with its own HTTP client, that stop by themselves
(a stop event, a request count, a deadline).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.server import CLI

READY_LINE = "Application startup complete."
WORKER_MARK = b"ninja_oauth.serving"  # in a worker's command line


class ServeProcess:
    """`ninja-oauth serve --workers N` in its own process group, logging to a file."""

    def __init__(
        self,
        env: dict[str, str],
        port: int,
        log_path: Path,
        workers: int = 2,
        cwd: Path | None = None,
        cli: list[str] = CLI,
    ) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        self.workers_wanted = workers
        self.log_path = log_path
        args = [*cli, "serve", "--host", "127.0.0.1", "--port", str(port)]
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [*args, "--workers", str(workers)],
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pgid = self.process.pid  # the session leader's pid is its group's id

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = 30) -> float:
        """Wait until every worker has logged that it is ready; returns the seconds waited."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited early:\n{self.log_text()}")
            if self.log_text().count(READY_LINE) >= self.workers_wanted:
                return time.monotonic() - start
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"serve not ready in {timeout} s:\n{self.log_text()}")

    def workers(self) -> list[int]:
        """The pids of the parent's worker processes (``python -m ninja_oauth.serving``)."""
        found = []
        for pid in _children(self.process.pid):
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                if WORKER_MARK in cmdline:
                    found.append(pid)
        return sorted(found)

    def group(self) -> list[int]:
        """Every live (not zombie) process of the server's process group."""
        return [pid for pid, _, pgrp, state in _processes() if pgrp == self.pgid and state != "Z"]

    def kill_worker(self) -> int:
        """SIGKILL one worker; returns its pid."""
        (victim, *_) = self.workers()
        os.kill(victim, signal.SIGKILL)
        return victim

    def kill_all(self) -> None:
        """SIGKILL the parent and every worker at once (a crash of the whole server)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while self.group() and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        """SIGTERM the group, then SIGKILL whatever is left after 15 s."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


def _processes() -> list[tuple[int, int, int, str]]:
    """(pid, parent pid, process group, state) of every process, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()
        found.append((int(entry.name), int(fields[1]), int(fields[2]), fields[0]))
    return found


def _children(parent: int) -> list[int]:
    return [pid for pid, ppid, _, state in _processes() if ppid == parent and state != "Z"]


# -- load -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One request of the load: its status (None: no answer, a connection error or timeout)."""

    kind: str
    started: float  # time.monotonic()
    elapsed: float
    status: int | None
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


Request = Callable[[httpx.Client], httpx.Response]


class Load:
    """``clients`` threads sending requests chosen by ``pick(i)`` until ``stop()``, until
    ``max_requests`` in all, or for at most ``max_seconds``, whichever comes first."""

    def __init__(
        self,
        base_url: str,
        pick: Callable[[int], tuple[str, Request]],
        *,
        clients: int = 4,
        max_requests: int = 20_000,
        max_seconds: float = 30,
        timeout: float = 10,
    ) -> None:
        self.outcomes: list[Outcome] = []
        self._base_url = base_url
        self._pick = pick
        self._max_requests = max_requests
        self._deadline = time.monotonic() + max_seconds
        self._timeout = timeout
        self._lock = threading.Lock()
        self._sent = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]
        for thread in self._threads:
            thread.start()

    def _next(self) -> int | None:
        with self._lock:
            if self._stop.is_set() or self._sent >= self._max_requests:
                return None
            if time.monotonic() > self._deadline:
                return None
            self._sent += 1
            return self._sent

    def _run(self) -> None:
        with httpx.Client(base_url=self._base_url, timeout=self._timeout) as client:
            while (i := self._next()) is not None:
                kind, send = self._pick(i)
                start = time.monotonic()
                try:
                    response = send(client)
                except httpx.TransportError:
                    outcome = Outcome(kind, start, time.monotonic() - start, None)
                    time.sleep(0.005)  # the server is down: don't spin
                else:
                    outcome = Outcome(
                        kind,
                        start,
                        time.monotonic() - start,
                        response.status_code,
                        response.text,
                        dict(response.headers),
                    )
                with self._lock:
                    self.outcomes.append(outcome)

    def answered(self, since: float = 0.0) -> int:
        """Requests answered 200 since ``since`` (time.monotonic())."""
        with self._lock:
            return sum(1 for o in self.outcomes if o.status == 200 and o.started >= since)

    def wait_for(self, count: int, since: float = 0.0, timeout: float = 15) -> None:
        """Wait until ``count`` requests started after ``since`` were answered 200."""
        deadline = time.monotonic() + timeout
        while self.answered(since) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"fewer than {count} answers in {timeout} s")
            time.sleep(0.01)

    def stop(self) -> list[Outcome]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self._timeout + 5)
        with self._lock:
            return list(self.outcomes)
