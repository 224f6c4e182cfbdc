"""`serve --workers N` on Linux: N uvicorn servers, each accepting from a socket of its own.

uvicorn's own supervisor (``uvicorn.run(workers=N)``) binds one socket that every worker accepts
from. The worker whose event loop wakes first accepts every pending connection, so a client that
opens a few keep-alive connections at once (a proxy, a connection pool, a load generator) often
lands all of them on one worker while the others idle: in ``make bench`` with ``wrk -t1 -c8``,
rounds split 8/0 and that worker served alone on one core. Here the supervisor opens N listening
sockets on the same address with ``SO_REUSEPORT``, one per worker, and the kernel spreads new
connections across them by a hash of the connection's addresses and ports.

The supervisor opens them all before any worker starts and keeps them for its lifetime: the port
is held from the first moment (a second server on it fails at once), and a worker that dies is
replaced by one that inherits the same socket, so the connections waiting in its queue are
answered by the replacement, as with uvicorn's shared socket. Each worker is ``python -P -m
ninja_oauth.serving``: it imports the app and uvicorn, nothing of the command line
(multiprocessing's spawn would import the ``ninja-oauth`` script, hence every command, in each
worker: about 10 MB each). A worker whose supervisor is gone (killed with SIGKILL) shuts down.

Written here because no library does it for uvicorn: its documented options have no reuse-port
setting, and gunicorn, which has one, is another server. Only uvicorn's public API is used:
``uvicorn.Config`` (its ``http`` option takes a protocol class: ``BoundedHeadProtocol`` below)
and ``uvicorn.Server.run(sockets=...)``, the hand-off of open sockets that uvicorn's gunicorn
worker uses. Where ``SO_REUSEPORT`` does not balance (outside Linux),
``uvicorn.run(workers=N)`` serves as before.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("ninja_oauth.serve")

POLL_SECONDS = 0.2  # how often the supervisor looks for a worker that died
STOP_SECONDS = 30.0  # how long stopping workers may take before they are killed
QUICK_EXIT_SECONDS = 10.0  # a worker that dies sooner is restarted after a growing delay
MAX_BACKOFF = 30.0
BACKLOG = 2048  # uvicorn's default listen backlog


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


# -- a bound on what a request sends besides its body -------------------------------------------
#
# httptools keeps a request's head (request line and headers) whole until its blank line, with no
# bound, and the trailer fields after a chunked body likewise: one connection sending an endless
# header made a worker hold tens of megabytes (found by a black-box test). uvicorn bounds heads
# only with its pure-Python h11 protocol (``h11_max_incomplete_event_size``), which costs the
# token path more than this. ``BoundedHeadProtocol``, handed to ``uvicorn.Config(http=...)``,
# refuses a request past MAX_HEAD_BYTES in two ways, through httptools' parser callbacks (which
# uvicorn's protocol implements):
#
# * a whole head is measured as it is parsed (``on_url``, ``on_header``): one over the bound is
#   answered 431 at ``on_headers_complete``, before the app is called;
# * a head or trailer that does not end is caught by counting, after each read is parsed, its
#   bytes that were not body (``on_body``) since the last message ended: past the bound, 431
#   (still in the head) or a closed connection (in the body). A worker holds at most the bound
#   and one read (256 KiB) more.

# As h11's default in uvicorn (and nginx's large_client_header_buffers is 4 x 8 KiB).
MAX_HEAD_BYTES = 16 * 1024

_TOO_LARGE = b"Request header fields too large: at most 16 KiB of request line and headers.\n"
_REFUSAL = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\n"
    b"content-length: " + str(len(_TOO_LARGE)).encode() + b"\r\n\r\n" + _TOO_LARGE
)


class BoundedHeadProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that refuses a request past MAX_HEAD_BYTES of head or trailers."""

    _head = 0  # the parsed head's bytes (name, value and their separators)
    _in_head = True  # between a message's start and its head's end
    _refused = False  # answered and closing: the parser's remaining callbacks do nothing
    _besides_body = 0  # since the last message's end: bytes read that were not body
    _body_read = 0  # body bytes of the read being parsed
    _ended = False  # whether a message ended in the read being parsed

    def data_received(self, data: bytes) -> None:
        self._body_read, self._ended = 0, False
        super().data_received(data)
        if self._ended:
            self._besides_body = 0
        else:
            self._besides_body += len(data) - self._body_read
            if self._besides_body > MAX_HEAD_BYTES:
                self._refuse()

    def _refuse(self) -> None:
        if not self._refused and not self.transport.is_closing():
            if self._in_head:
                self.transport.write(_REFUSAL)
            self.transport.close()
        self._refused = True

    def on_message_begin(self) -> None:
        self._head, self._in_head = 0, True
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._head += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head += len(name) + len(value) + 4  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._head > MAX_HEAD_BYTES:
            self._refuse()  # the app is not called: no request cycle begins
        if self._refused:
            return
        self._in_head = False
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._body_read += len(body)
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._ended = True
        if not self._refused:
            super().on_message_complete()


def configure_logging() -> None:
    """The server's own log lines (the access log, warnings, errors) on stderr with their
    time, level and logger, in the supervisor and in each worker alike. uvicorn configures
    only its own loggers."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)


def balanced() -> bool:
    """Whether this platform spreads connections over ``SO_REUSEPORT`` sockets (Linux does;
    BSD and macOS let the newest socket take them all)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def listening_sockets(host: str, port: int, count: int, backlog: int) -> list[socket.socket]:
    """``count`` sockets listening on ``host:port`` (``port`` 0: one chosen for all). The first
    is bound without ``SO_REUSEPORT``, so that the bind fails if anything listens there already;
    the option is set on it afterwards for the others to join."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET  # as uvicorn chooses
    sockets: list[socket.socket] = []
    try:
        for index in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if index:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            if not index:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                port = sock.getsockname()[1]
            sock.listen(backlog)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _exit_when_orphaned(parent: int) -> None:
    """SIGTERM this worker (uvicorn's graceful shutdown) once its supervisor is gone: the
    worker then has another parent. One ``getppid`` a second."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


def worker_main(argv: list[str]) -> None:
    """One worker process (``python -P -m ninja_oauth.serving APP FD SUPERVISOR OPTIONS``):
    uvicorn serving ``APP`` on the inherited listening socket ``FD``, while process
    ``SUPERVISOR`` is its parent. SIGINT and SIGTERM are uvicorn's: a graceful shutdown."""
    app, fd, supervisor, options = argv[0], int(argv[1]), int(argv[2]), json.loads(argv[3])
    if os.getppid() != supervisor:  # it died while this one started: nobody would stop it
        sys.exit(0)
    configure_logging()  # a new interpreter: the supervisor's configuration is not inherited
    sock = socket.socket(fileno=fd)  # its family and type read from the socket
    watch = threading.Thread(target=_exit_when_orphaned, args=(supervisor,), daemon=True)
    watch.start()
    uvicorn.Server(uvicorn.Config(app, http=BoundedHeadProtocol, **options)).run(sockets=[sock])


class Supervisor:
    """Starts a worker per socket, starts a new one on the same socket when one dies, and stops
    them all on SIGINT or SIGTERM (each finishes its requests in flight: uvicorn's graceful
    shutdown). A worker that dies soon after it started is started again after a delay that
    doubles each time (at most ``MAX_BACKOFF`` seconds); if a first worker fails on its own
    within ``QUICK_EXIT_SECONDS`` (an error status, not a signal), the supervisor stops with
    that status: the application cannot start."""

    def __init__(self, app: str, sockets: list[socket.socket], options: dict[str, Any]):
        self._app = app
        self._options = json.dumps(options)
        self._sockets = sockets
        self._slots: list[_Slot] = []
        self._stop = threading.Event()

    def _start(self, sock: socket.socket) -> subprocess.Popen[bytes]:
        fd = sock.fileno()
        # -P: the current directory is not put first on the path (a json.py there would be
        # imported by the workers); PYTHONPATH still is.
        module = [sys.executable, "-P", "-m", "ninja_oauth.serving"]
        command = [*module, self._app, str(fd), str(os.getpid()), self._options]
        # Our own interpreter and module; the arguments are the server's own settings.
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, pass_fds=[fd])  # noqa: S603

    def _on_signal(self, _signum: int, _frame: object) -> None:
        self._stop.set()

    def run(self) -> int:
        """Serve until stopped; the exit status: 0, or a first worker's error status when the
        application could not start (starting it again would fail again)."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        try:
            for sock in self._sockets:
                self._slots.append(_Slot(sock, self._start(sock)))
            return self._watch()
        finally:
            self._stop_all()

    def _watch(self) -> int:
        while not self._stop.wait(POLL_SECONDS):
            now = time.monotonic()
            for slot in self._slots:
                if slot.process is None:
                    if now >= slot.restart_at:
                        slot.started(self._start(slot.sock))
                    continue
                status = slot.process.poll()
                if status is None:
                    continue
                if status > 0 and not slot.restarts and now - slot.started_at < QUICK_EXIT_SECONDS:
                    # A first worker failed on its own (the app does not import, its startup
                    # fails): every other would too.
                    log.error(
                        "a worker could not start the application (status %s); stopping", status
                    )
                    return status
                pid = slot.process.pid
                delay = slot.exited(now)
                log.warning(
                    "worker %s exited (status %s); starting another in %.1f s", pid, status, delay
                )
        return 0

    def _stop_all(self) -> None:
        running = [slot.process for slot in self._slots if slot.process is not None]
        for process in running:
            if process.poll() is None:
                process.terminate()  # SIGTERM: uvicorn's graceful shutdown
        deadline = time.monotonic() + STOP_SECONDS
        for process in running:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning(
                    "worker %s did not stop in %.0f s; killing it", process.pid, STOP_SECONDS
                )
                process.kill()
                process.wait()


class _Slot:
    """One socket and the worker serving it; when it died, when to start the next."""

    def __init__(self, sock: socket.socket, process: subprocess.Popen[bytes]) -> None:
        self.sock = sock
        self.process: subprocess.Popen[bytes] | None = process
        self.started_at = time.monotonic()
        self.restarts = 0
        self.backoff = 0.0
        self.restart_at = 0.0

    def started(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.started_at = time.monotonic()
        self.restarts += 1

    def exited(self, now: float) -> float:
        """The worker is gone: how long to wait before the next (none after a long run)."""
        quick = now - self.started_at < QUICK_EXIT_SECONDS
        self.backoff = min(MAX_BACKOFF, max(0.5, self.backoff * 2)) if quick else 0.0
        self.process = None
        self.restart_at = now + self.backoff
        return self.backoff


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def serve(app: str, *, host: str, port: int, workers: int, **options: Any) -> int:
    """Serve the ASGI ``app`` (an import string) with ``workers`` processes; ``options`` are
    ``uvicorn.Config``'s (JSON values). Raises OSError when ``host:port`` cannot be bound.
    Returns the exit status."""
    if workers == 1:
        # Bound here, before the app starts, so that a port in use is the OSError above (one
        # line from the CLI), as with several workers, not uvicorn's own report and exit 3.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET  # as uvicorn chooses
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(options.get("backlog", BACKLOG))
            # uvicorn names no address when it is given the socket.
            log.info("serving http://%s:%d (Ctrl-C to stop)", _shown(host), sock.getsockname()[1])
            config = uvicorn.Config(app, host=host, port=port, http=BoundedHeadProtocol, **options)
            server = uvicorn.Server(config)
            # uvicorn raises the captured Ctrl-C again once it has shut down gracefully;
            # uvicorn.run swallows it, and so does this: a clean stop, status 0.
            with contextlib.suppress(KeyboardInterrupt):
                server.run(sockets=[sock])
        return 0
    if not balanced():  # elsewhere than Linux, uvicorn's shared socket
        uvicorn.run(app, host=host, port=port, workers=workers, http=BoundedHeadProtocol, **options)
        return 0
    sockets = listening_sockets(host, port, workers, options.get("backlog", BACKLOG))
    try:
        port = sockets[0].getsockname()[1]  # the port chosen, if 0 was asked for
        log.info(
            "serving http://%s:%d with %d workers, each on its own socket (SO_REUSEPORT)",
            _shown(host),
            port,
            workers,
        )
        return Supervisor(app, sockets, options).run()
    finally:
        for sock in sockets:
            sock.close()


if __name__ == "__main__":
    worker_main(sys.argv[1:])
