"""`serve --workers N` on Linux (ninja_oauth/serving.py), as a user sees it: each worker accepts
from a listening socket of its own (SO_REUSEPORT) and the kernel spreads connections across
them; a port in use fails at once; SIGTERM to the parent stops every worker gracefully, and a
worker whose parent was killed stops by itself. Sockets are found in /proc/net/tcp and mapped
to processes through /proc/PID/fd."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.faults.processes import ServeProcess
from tests.support.server import CLI, free_port, server_env

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")

WORKERS = 2
CONNECTIONS = 16
LISTEN, ESTABLISHED = "0A", "01"
METADATA = "/.well-known/oauth-authorization-server"


def _tcp(state: str) -> list[tuple[int, int, int]]:
    """(local port, remote port, inode) of each IPv4 TCP socket in ``state``."""
    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == state:
            local, remote = (int(a.rsplit(":", 1)[1], 16) for a in fields[1:3])
            found.append((local, remote, int(fields[9])))
    return found


def _socket_inodes(pid: int) -> set[int]:
    """The inodes of the sockets process ``pid`` holds open."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    with contextlib.suppress(OSError):
        for fd in fd_dir.iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def _listening(port: int) -> set[int]:
    return {inode for local, _, inode in _tcp(LISTEN) if local == port}


def _wait(condition: str, check: Callable[[], bool], timeout: float = 30) -> None:
    """Poll ``check()`` until it is true, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not {condition} in {timeout} s"
        time.sleep(0.02)


@dataclass
class Served:
    serve: ServeProcess
    env: dict[str, str]
    port: int


def _start(tmp: Path, cwd: Path | None = None, cli: list[str] = CLI) -> Served:
    """`serve --workers 2` on a fresh SQLite database, once every worker listens."""
    port = free_port()
    env = server_env(f"sqlite:///{tmp / 'ninja-oauth.db'}", port)
    log = tmp / f"serve-{port}.log"
    serve = ServeProcess(env, port, log, workers=WORKERS, cwd=cwd, cli=cli)
    try:
        serve.wait_ready()
        # "Application startup complete" is logged just before the worker starts listening.
        _wait("listening", lambda: len(_listening(port)) >= WORKERS)
    except BaseException:
        serve.stop()
        raise
    return Served(serve, env, port)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    live = _start(tmp_path_factory.mktemp("workers"))
    try:
        yield live
    finally:
        live.serve.stop()


def test_each_worker_listens_on_a_socket_of_its_own(served: Served) -> None:
    server, port = served.serve, served.port
    listening = _listening(port)
    workers = server.workers()
    assert len(workers) == WORKERS, server.log_text()
    per_worker = {pid: _socket_inodes(pid) & listening for pid in workers}
    assert all(len(inodes) == 1 for inodes in per_worker.values()), per_worker
    assert len(set().union(*per_worker.values())) == WORKERS  # one each, none shared
    assert set().union(*per_worker.values()) == listening  # no other listener on the port
    # The parent opened them and keeps them, for a worker that replaces a dead one.
    assert _socket_inodes(server.process.pid) & listening == listening


def test_keep_alive_connections_are_spread_over_the_workers(served: Served) -> None:
    server, port = served.serve, served.port
    connections = [
        http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(CONNECTIONS)
    ]
    try:
        for conn in connections:
            conn.connect()  # all open at once, before any request
        for conn in connections:
            conn.request("GET", METADATA)
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 200
            assert not answer.will_close  # kept alive
        client_ports = {conn.sock.getsockname()[1] for conn in connections}
        # Read at once: uvicorn closes idle keep-alive connections after 5 s.
        ours = {i for local, rem, i in _tcp(ESTABLISHED) if local == port and rem in client_ports}
        counts = {pid: len(_socket_inodes(pid) & ours) for pid in server.workers()}
    finally:
        for conn in connections:
            conn.close()
    assert sum(counts.values()) == CONNECTIONS, counts
    # The kernel picks a listening socket by a hash of each connection's addresses and ports:
    # 16 connections all on one of 2 workers has a chance of 2 in 65536 (2 * 2^-16).
    assert all(count >= 1 for count in counts.values()), counts


def test_a_second_server_on_the_same_port_fails_at_once(served: Served) -> None:
    server, port = served.serve, served.port
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    second = subprocess.run(
        [*CLI, *args],
        env=served.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1, (second.stdout, second.stderr)
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in lines[0]
    assert "Address already in use" in lines[0]
    assert httpx.get(server.base_url + METADATA, timeout=10).status_code == 200
    assert len(server.workers()) == WORKERS and len(_listening(port)) == WORKERS


def test_sigterm_to_the_parent_stops_every_worker_gracefully(tmp_path: Path) -> None:
    server = _start(tmp_path).serve
    try:
        workers = server.workers()
        assert len(workers) == WORKERS, server.log_text()
        os.kill(server.process.pid, signal.SIGTERM)  # the parent only, not its group
        deadline = time.monotonic() + 30
        status = server.process.wait(timeout=30)
        _wait("stopped", lambda: not server.group(), max(0.0, deadline - time.monotonic()))
    finally:
        server.stop()
    log = server.log_text()
    assert status == 0, log
    for pid in workers:
        assert f"Finished server process [{pid}]" in log, log


def test_workers_stop_by_themselves_when_the_parent_is_killed(tmp_path: Path) -> None:
    served = _start(tmp_path)
    server = served.serve
    try:
        workers = server.workers()
        assert len(workers) == WORKERS, server.log_text()
        os.kill(server.process.pid, signal.SIGKILL)  # the parent only: no chance to stop them
        server.process.wait(timeout=10)
        _wait("stopped", lambda: not server.group(), 30)
    finally:
        server.stop()
    log = server.log_text()
    for pid in workers:
        assert f"Finished server process [{pid}]" in log, log  # a graceful shutdown
    assert not _listening(served.port)  # the port is free for the next server


def test_an_application_that_cannot_start_stops_the_server_with_its_status() -> None:
    # The workers' first start fails on its own: the supervisor stops instead of restarting
    # them for ever.
    code = (
        "import logging, sys; logging.basicConfig(level=logging.INFO)\n"
        "from ninja_oauth import serving\n"
        "sys.exit(serving.serve('no_such_module:app', host='127.0.0.1', port=0, workers=2))"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 3, ran.stderr  # uvicorn's status for an app it cannot load
    assert "could not start the application (status 3); stopping" in ran.stderr
    assert ran.stderr.count('Could not import module "no_such_module"') == 2  # both workers


def test_the_workers_never_import_from_the_directory_serve_runs_in(tmp_path: Path) -> None:
    # `python -m` would put the current directory first on the path: a json.py there (or a
    # uvicorn.py...) would run in every worker. The workers run with -P.
    here = tmp_path / "cwd"
    here.mkdir()
    (here / "json.py").write_text("raise SystemExit('json.py of the current directory ran')\n")
    # The installed command, as a user runs it (`python -m ninja_oauth` would itself import
    # from the current directory).
    installed = [str(Path(sys.executable).with_name("ninja-oauth"))]
    served = _start(tmp_path, cwd=here, cli=installed)
    try:
        answer = httpx.get(served.serve.base_url + METADATA, timeout=10)
        assert answer.status_code == 200
    finally:
        served.serve.stop()
    assert "json.py of the current directory ran" not in served.serve.log_text()


def test_a_worker_whose_supervisor_is_not_its_parent_stops_at_once() -> None:
    # Its supervisor died while it started: it would serve on, unstoppable, holding the port.
    # It exits before it touches the socket it was given (fd 999 here, never opened).
    ran = subprocess.run(
        [sys.executable, "-P", "-m", "ninja_oauth.serving", "no_such:app", "999", "1", "{}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr == ""


def test_a_single_worker_on_a_busy_port_fails_at_once_with_one_line(served: Served) -> None:
    args = ["serve", "--host", "127.0.0.1", "--port", str(served.port), "--workers", "1"]
    second = subprocess.run(
        [*CLI, *args], env=served.env, capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 1, (second.stdout, second.stderr)
    assert second.stderr.strip().splitlines() == [
        f"ninja-oauth: cannot listen on 127.0.0.1:{served.port}: Address already in use"
    ]


@pytest.mark.parametrize("port", ["0", "70000"])
def test_a_port_beyond_the_range_is_refused_as_a_usage_error(served: Served, port: str) -> None:
    # 70000 would have been taken modulo 65536 (port 4464) while the issuer said :70000.
    ran = subprocess.run(
        [*CLI, "serve", "--port", port], env=served.env, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 2, ran.stderr
    assert "--port" in ran.stderr and "Traceback" not in ran.stderr


def test_the_workers_write_the_access_log_one_escaped_line_a_request(tmp_path: Path) -> None:
    """Each worker configures its logging (the supervisor's does not reach a new interpreter),
    and a path is logged %-encoded: a %0a in it cannot start a forged line."""
    port = free_port()
    env = server_env(
        f"sqlite:///{tmp_path / 'ninja-oauth.db'}", port, NINJA_OAUTH_ACCESS_LOG="true"
    )
    serve = ServeProcess(env, port, tmp_path / "serve.log", workers=WORKERS)
    forged = '2026-12-07 09:30:00,000 INFO ninja_oauth.access 203.0.113.9 "POST /admin/login" 303'
    try:
        serve.wait_ready()
        assert httpx.get(serve.base_url + METADATA, timeout=10).status_code == 200
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/x%0a" + forged.replace(" ", "%20").replace('"', "%22"))
        assert conn.getresponse().status == 404
        conn.close()
    finally:
        serve.stop()
    lines = serve.log_text().splitlines()
    access = [line for line in lines if " ninja_oauth.access " in line]
    assert len(access) == 2, lines
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO ninja_oauth\.access 127\.0\.0\.1 "
    assert re.fullmatch(stamp + rf'"GET {METADATA}" 200 [\d.]+ms', access[0]), access
    assert re.fullmatch(
        stamp + r'"GET /x%0A2026-12-07%2009:30:00,000%20INFO.*" 404 [\d.]+ms', access[1]
    )


@pytest.mark.parametrize("workers", [1, WORKERS])
def test_ctrl_c_stops_the_server_with_status_0(tmp_path: Path, workers: int) -> None:
    port = free_port()
    env = server_env(f"sqlite:///{tmp_path / 'ninja-oauth.db'}", port)
    serve = ServeProcess(env, port, tmp_path / "serve.log", workers=workers)
    try:
        serve.wait_ready()
        assert httpx.get(serve.base_url + METADATA, timeout=10).status_code == 200
        serve.process.send_signal(signal.SIGINT)  # the parent only, as a terminal's Ctrl-C
        status = serve.process.wait(timeout=30)
    finally:
        serve.stop()
    assert status == 0, serve.log_text()
    assert "Traceback" not in serve.log_text()
