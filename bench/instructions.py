"""`make bench-instructions`: instructions per token request and per bearer GET, counted.

Wall and CPU time on a shared 2-core machine drift by tens of percent within minutes, more
than most changes to the hot paths move them; an instruction count does not drift. This runs
ninja-oauth's ASGI app in-process on a fresh SQLite file (no uvicorn, no sockets), under
Valgrind's callgrind with counting switched on only around the measured requests, and prints
instructions per request. Runs of the same code agree to about 1%. What it leaves out: the
kernel (system calls, the WAL's writes), uvicorn and the HTTP parsing, which the bare app pays
too; so it measures a change of ninja-oauth's own work, and `make bench` the whole.

Token requests go ``--batch`` at a time (asyncio.gather): the requests of one turn of the
event loop share a group commit, whose cost is the larger part of a token's at one request a
commit. Needs ``valgrind`` (``apt-get install valgrind``; the Makefile installs it).

    .venv/bin/python bench/instructions.py [--only token|get] [--requests N] [--batch K]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV_BIN = Path(sys.executable).parent
ISSUER = "http://127.0.0.1:8999"
WARMUP = 600  # requests before counting: caches filled, the group commit's thread started

Request = Callable[[], Awaitable[None]]


class Signals:
    """Files through which the measured process and this one take turns: ``ready`` (warmed
    up), ``go`` (counting is on), ``done`` (requests made), ``off`` (counting is off)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, name: str) -> Path:
        return self.folder / name

    def wait(
        self, name: str, proc: subprocess.Popen[bytes] | None = None, limit: float = 600
    ) -> None:
        deadline = time.monotonic() + limit
        while not self.path(name).exists():
            if proc is not None and proc.poll() is not None:
                raise SystemExit(
                    f"instructions: the measured process exited with {proc.returncode}"
                )
            if time.monotonic() > deadline:
                raise SystemExit(f"instructions: no '{name}' after {limit:.0f}s")
            time.sleep(0.05)

    def say(self, name: str) -> None:
        self.path(name).touch()


# -- the measured process ------------------------------------------------------------------


async def _send(app: Any, scope: dict[str, Any], body: bytes) -> list[dict[str, Any]]:
    """One request to the ASGI app: the messages it sent back (SystemExit if not a 200)."""
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(dict(scope), receive, send)
    if sent[0]["status"] != 200:
        raise SystemExit(f"instructions: {scope['path']} answered {sent[0]['status']}")
    return sent


def _asgi_call(app: Any, scope: dict[str, Any], body: bytes) -> Request:
    async def call() -> None:
        await _send(app, scope, body)

    return call


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8999"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8999),
    }


async def _measured(args: argparse.Namespace, signals: Signals) -> None:
    from ninja_oauth.web import app_factory

    app = app_factory()
    form = args.form.encode()
    token_scope = _scope(
        "POST",
        "/ws/oauth/token",
        [
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(form)).encode()),
        ],
    )
    startup: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started = asyncio.Event()

    async def lifespan_send(message: dict[str, Any]) -> None:
        if message["type"].endswith(".failed"):
            raise SystemExit(f"instructions: {message}")
        if message["type"] == "lifespan.startup.complete":
            started.set()

    lifespan = asyncio.create_task(
        app(
            {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
            startup.get,
            lifespan_send,
        )
    )
    await startup.put({"type": "lifespan.startup"})
    await started.wait()
    if args.only == "token":
        call, batch = _asgi_call(app, token_scope, form), args.batch
    else:
        call, batch = await _get_call(app, token_scope, form), 1

    async def requests(count: int) -> None:
        for _ in range(count // batch):
            await asyncio.gather(*(call() for _ in range(batch)))

    await requests(WARMUP)
    signals.say("ready")
    while not signals.path("go").exists():
        await asyncio.sleep(0.05)
    await requests(args.requests)
    signals.say("done")
    while not signals.path("off").exists():
        await asyncio.sleep(0.05)
    await startup.put({"type": "lifespan.shutdown"})
    await lifespan


async def _get_call(app: Any, token_scope: dict[str, Any], form: bytes) -> Request:
    """A bearer GET of /v2/organizations with a token the app just issued."""
    sent = await _send(app, token_scope, form)
    token = json.loads(sent[1]["body"])["access_token"]
    bearer = [(b"authorization", f"Bearer {token}".encode())]
    return _asgi_call(app, _scope("GET", "/v2/organizations", bearer), b"")


# -- the counting process --------------------------------------------------------------------


def _environment(folder: Path) -> dict[str, str]:
    # A clean slate, as run.py's servers get: nothing inherited from NINJA_OAUTH_*.
    env = {k: v for k, v in os.environ.items() if not k.startswith("NINJA_OAUTH_")}
    env.update(
        NINJA_OAUTH_DATABASE_URL=f"sqlite:///{folder / 'bench.db'}",
        NINJA_OAUTH_SECRET_KEY=(string.ascii_letters * 2)[:48],
        NINJA_OAUTH_ISSUER=ISSUER,
    )
    return env


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "ninja-oauth"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"instructions: ninja-oauth {args[0]} failed: {done.stderr.strip()}")
    return done.stdout


def count(args: argparse.Namespace) -> int:
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            print(f"instructions: {tool} is needed (apt-get install valgrind)", file=sys.stderr)
            return 1
    with tempfile.TemporaryDirectory(prefix="ninja-instructions-") as tmp:
        folder = Path(tmp)
        env = _environment(folder)
        _cli(env, "demo-data")
        app = json.loads(
            _cli(env, "apps", "create", "--name", "bench", "--platform", "api_services", "--json")
        )
        form = urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "scope": "monitoring",
            }
        )
        out = folder / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            str(Path(__file__).resolve()),
            "--measured",
            str(folder),
            "--only",
            args.only,
            "--requests",
            str(args.requests),
            "--batch",
            str(args.batch),
            "--form",
            form,
        ]
        signals = Signals(folder)
        with (folder / "valgrind.log").open("wb") as log:
            proc = subprocess.Popen(
                command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
            try:
                # Counting on once the app is warmed up ("ready"), off once its requests are
                # made ("done"); each switch answered with "go" and "off".
                for waited, switch, answer in (("ready", "on", "go"), ("done", "off", "off")):
                    signals.wait(waited, proc)
                    subprocess.run(
                        ["callgrind_control", "-i", switch, str(proc.pid)],
                        capture_output=True,
                        check=True,
                    )
                    signals.say(answer)
                proc.wait(timeout=600)
            finally:
                if proc.poll() is None:
                    proc.kill()
        if proc.returncode != 0:
            print((folder / "valgrind.log").read_text(errors="replace")[-2000:], file=sys.stderr)
            return 1
        totals = re.search(r"^totals:\s+(\d+)", out.read_text(), re.MULTILINE)
        if totals is None:
            print("instructions: callgrind wrote no totals", file=sys.stderr)
            return 1
        per_request = int(totals.group(1)) / args.requests
        what = (
            "POST /ws/oauth/token (client_credentials)"
            if args.only == "token"
            else "GET /v2/organizations (bearer)"
        )
        batch = f", {args.batch} a group commit" if args.only == "token" else ""
        print(
            f"{what}: {per_request / 1000:.1f}k instructions a request "
            f"({args.requests} requests{batch}; in-process, SQLite, user space)"
        )
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["token", "get"], default="token")
    parser.add_argument("--requests", type=int, default=600, help="counted requests (default 600)")
    parser.add_argument(
        "--batch", type=int, default=3, help="token requests per turn of the loop (default 3)"
    )
    parser.add_argument("--measured", help=argparse.SUPPRESS)
    parser.add_argument("--form", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.requests < 1 or args.batch < 1 or args.requests % args.batch:
        parser.error("--requests and --batch must be positive, --requests a multiple of --batch")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.measured:
        asyncio.run(_measured(args, Signals(Path(args.measured))))
        return 0
    return count(args)


if __name__ == "__main__":
    raise SystemExit(main())
