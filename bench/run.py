"""`make bench`: ninja-oauth against a bare Starlette app of the same shape, both under wrk.

Starts ``ninja-oauth serve --workers 2`` on a fresh SQLite database, another on a fresh
PostgreSQL database (``--store``, default both: PostgreSQL when reachable at
``NINJA_OAUTH_BENCH_DATABASE_URL``, bench/pg_bench.py) and ``bench/bare_app.py`` (served the same
way), then measures on 127.0.0.1, 8 connections each:

* client_credentials tokens per second (``POST /ws/oauth/token`` vs the bare ``POST /token``),
* bearer-protected ``GET /v2/organizations`` per second (vs the bare one),

and prints req/s, p50, p99, CPU per request, the ninja/bare ratios (SQLite), the PostgreSQL /
SQLite ratios (issue 13) and whether the targets are met. It only prints: the exit status is 0
whatever the numbers (non-zero only if something broke).

Each endpoint is measured in rounds that alternate the sides (bare, SQLite, PostgreSQL, then
the reverse order...), each round on new connections: a drift in the machine's speed, or a
lucky or unlucky split of the connections between the workers, then weighs on every side alike
instead of on whichever ran at the time. req/s is the mean over the rounds, p50 and p99 the
medians.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import secrets
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

from loadgen import WrkError, WrkResult, run_wrk, wrk_binary
from pg_bench import (
    DEFAULT_URL,
    ENV_URL,
    BackendCpu,
    BackendSample,
    BenchDatabase,
    PgUnavailable,
    bench_database,
    recreate,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"

TARGET_TOKENS = 0.40  # tokens/s >= 0.40 x bare
TARGET_GETS = 0.70  # bearer GETs/s >= 0.70 x bare
TARGET_TAIL = 5.0  # token p99 <= 5 x token p50
# Issue 13: PostgreSQL against SQLite, same run, same machine.
TARGET_PG_TOKENS = 0.60  # tokens/s on PostgreSQL >= 0.60 x on SQLite
TARGET_PG_GETS = 0.60  # bearer GETs/s on PostgreSQL >= 0.60 x on SQLite

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
STORE_NAMES = {SQLITE: "SQLite", POSTGRESQL: "PostgreSQL"}

TOKEN_PATH = "/ws/oauth/token"
ORGS_PATH = "/v2/organizations"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

# Local only, whatever the environment says about proxies.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class BenchError(RuntimeError):
    """Something needed for a measurement did not work; the message says what."""


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def http(
    method: str, url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _HTTP.open(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# -- processes ---------------------------------------------------------------------------------


class Server:
    """A server process in its own process group, so that its workers stop with it."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_path: Path):
        self.name = name
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("wb")
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def wait_ready(
        self, url: str, headers: dict[str, str] | None = None, timeout: float = 60
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            with contextlib.suppress(OSError):
                status, _ = http("GET", url, headers=headers)
                if status == 200:
                    return
            time.sleep(0.1)
        raise BenchError(f"{self.name} not ready after {timeout:.0f}s:\n{self.tail()}")

    def cpu_seconds(self) -> float | None:
        """User + system CPU of every process in the server's group so far (Linux /proc)."""
        total = 0
        try:
            entries = list(Path("/proc").iterdir())
        except OSError:
            return None
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == self.proc.pid:  # fields[2]: the process group
                total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
        return total / os.sysconf("SC_CLK_TCK")

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(timeout=5)
        # Workers left behind by a parent that died first.
        self._signal_group(signal.SIGKILL)
        self._log.close()


@contextlib.contextmanager
def started(name: str, command: list[str], env: dict[str, str], log_path: Path) -> Iterator[Server]:
    server = Server(name, command, env, log_path)
    try:
        yield server
    finally:
        server.stop()


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "ninja-oauth"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# -- the benchmark -----------------------------------------------------------------------------


class CpuMeter:
    """CPU spent serving one side: its server's processes, and on PostgreSQL the backends that
    serve the bench database (``backends``), read before and after each measured run."""

    def __init__(self, server: Server, backends: BackendCpu | None = None) -> None:
        self.server = server
        self.backends = backends
        self.backends_seen = 0  # the most backends one sample found (the report's note)

    def sample(self) -> tuple[float | None, BackendSample | None]:
        backends = self.backends.sample() if self.backends else None
        if backends is not None:
            self.backends_seen = max(self.backends_seen, len(backends.ticks))
        return self.server.cpu_seconds(), backends

    def since(
        self, before: tuple[float | None, BackendSample | None]
    ) -> tuple[float | None, float | None]:
        """(server CPU seconds, backend CPU seconds) since ``before``; None where unreadable
        (the backends' also without PostgreSQL)."""
        server_after, backends_after = self.sample()
        server_before, backends_before = before
        server = (
            None if server_before is None or server_after is None else server_after - server_before
        )
        if self.backends is None or backends_before is None or backends_after is None:
            return server, None
        return server, BackendCpu.seconds(backends_before, backends_after)


@dataclass
class Case:
    kind: str  # "token" or "get"
    side: str  # "ninja" or "bare"
    store: str  # SQLITE or POSTGRESQL for ninja-oauth, "" for the bare app
    label: str
    url: str
    script: str
    env: dict[str, str]
    body_bytes: int
    meter: CpuMeter
    rounds: list[WrkResult] = field(default_factory=list)
    cpu_seconds: float | None = 0.0  # the server's processes; None once a reading failed
    db_cpu_seconds: float | None = 0.0  # PostgreSQL's backends; None without them
    splits: list[str] = field(default_factory=list)  # per round: how the workers shared wrk's

    @property
    def result(self) -> WrkResult | None:
        """The rounds together: mean req/s (the rounds last the same), median p50 and p99."""
        if not self.rounds:
            return None
        return WrkResult(
            requests_per_s=statistics.fmean(r.requests_per_s for r in self.rounds),
            p50_ms=statistics.median(r.p50_ms for r in self.rounds),
            p99_ms=statistics.median(r.p99_ms for r in self.rounds),
            requests=sum(r.requests for r in self.rounds),
            non_2xx=sum(r.non_2xx for r in self.rounds),
            socket_errors=sum(r.socket_errors for r in self.rounds),
            output="\n".join(r.output for r in self.rounds),
        )

    def _per_request(self, seconds: float | None) -> float | None:
        result = self.result
        if seconds is None or result is None or not result.requests:
            return None
        # Requests still in flight at the end of a round are few (8 connections): ignored.
        return seconds / result.requests * 1e6

    @property
    def cpu_us_per_request(self) -> float | None:
        """The server's own processes (on SQLite, the database's work is among them)."""
        return self._per_request(self.cpu_seconds)

    @property
    def db_cpu_us_per_request(self) -> float | None:
        """PostgreSQL's backends serving the bench database (None on SQLite and the bare app)."""
        return self._per_request(self.db_cpu_seconds)

    @property
    def total_cpu_us_per_request(self) -> float | None:
        """Everything that served a request: the server, plus PostgreSQL's backends if any."""
        server = self.cpu_us_per_request
        if server is None or self.store != POSTGRESQL:
            return server
        db = self.db_cpu_us_per_request
        return None if db is None else server + db

    @property
    def split(self) -> str:
        return ",".join(self.splits) or "-"


def ninja_env(port: int, database_url: str) -> dict[str, str]:
    # A clean slate: nothing inherited from NINJA_OAUTH_* (limits, proxies, another database).
    env = {k: v for k, v in os.environ.items() if not k.startswith("NINJA_OAUTH_")}
    alphabet = string.ascii_letters + string.digits
    env.update(
        NINJA_OAUTH_DATABASE_URL=database_url,
        # Set on SQLite too, so that neither store writes a key file; PostgreSQL requires it.
        NINJA_OAUTH_SECRET_KEY="".join(secrets.choice(alphabet) for _ in range(48)),
        NINJA_OAUTH_ISSUER=f"http://{HOST}:{port}",
    )
    return env


def prepare_ninja(env: dict[str, str]) -> dict[str, Any]:
    """Load the demo data (if the command exists) and register the api_services app."""
    demo = cli(env, "demo-data")
    if demo.returncode == 0:
        log(f"demo-data: {demo.stdout.strip() or 'ok'}")
    else:
        log(f"demo-data skipped (exit {demo.returncode}): {demo.stderr.strip()[-200:]}")
    created = cli(env, "apps", "create", "--name", "bench", "--platform", "api_services", "--json")
    if created.returncode != 0:
        raise BenchError(f"apps create failed ({created.returncode}): {created.stderr.strip()}")
    app: dict[str, Any] = json.loads(created.stdout)
    return app


def connection_split(port: int) -> str:
    """Established connections to ``port`` per server process, busiest first ("6/2"), read
    with ``ss`` (uvicorn's workers accept from one shared socket: one that wakes first takes
    every pending connection, and a busier worker caps the throughput). "-" without ss."""
    try:
        out = subprocess.run(
            ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "-"
    pids = re.findall(r"pid=(\d+)", out)
    counts = sorted(Counter(pids).values(), reverse=True)
    return "/".join(str(c) for c in counts) if counts else "-"


def measure(case: Case, args: argparse.Namespace) -> None:
    """One round: a warm-up, then a measured run on new connections."""
    common = {"connections": args.connections, "threads": args.threads}
    if args.warmup > 0:
        run_wrk(case.url, case.script, case.env, duration=args.warmup, **common)
    before = case.meter.sample()
    port = int(case.url.split(":")[2].split("/")[0])
    sampler = threading.Timer(min(2.0, args.duration / 2), _sample_split, (case, port))
    sampler.start()
    result = run_wrk(case.url, case.script, case.env, duration=args.duration, **common)
    sampler.join()
    server, db = case.meter.since(before)
    if args.verbose:
        print(f"--- {case.label}\n{result.output}", file=sys.stderr)
    case.rounds.append(result)
    case.cpu_seconds = (
        None if server is None or case.cpu_seconds is None else case.cpu_seconds + server
    )
    case.db_cpu_seconds = (
        None if db is None or case.db_cpu_seconds is None else case.db_cpu_seconds + db
    )


def _sample_split(case: Case, port: int) -> None:
    case.splits.append(connection_split(port))


def fmt_ms(value: float) -> str:
    return f"{value * 1000:.0f}us" if value < 1 else f"{value:.2f}ms"


def _ratio(
    results: dict[tuple[str, str, str], WrkResult], a: tuple[str, str, str], b: tuple[str, str, str]
) -> float | None:
    if a in results and b in results and results[b].requests_per_s:
        return results[a].requests_per_s / results[b].requests_per_s
    return None


def _ratio_checks(
    results: dict[tuple[str, str, str], WrkResult], connections: int
) -> list[tuple[str, float, str, bool]]:
    checks = []
    # ninja-oauth on SQLite against the bare app: the targets as before issue 13.
    for kind, name, target in (
        ("token", "tokens/s  ninja / bare", TARGET_TOKENS),
        ("get", "GETs/s    ninja / bare", TARGET_GETS),
    ):
        ratio = _ratio(results, (kind, "ninja", SQLITE), (kind, "bare", ""))
        if ratio is not None:
            checks.append((name, ratio, f">= {target:.2f}", ratio >= target))
    if ("token", "ninja", SQLITE) in results:
        token = results["token", "ninja", SQLITE]
        tail = token.p99_ms / token.p50_ms
        name = f"token p99 / p50 (ninja, {connections} connections)"
        checks.append((name, tail, f"<= {TARGET_TAIL:.2f}", tail <= TARGET_TAIL))
    # Issue 13: PostgreSQL against SQLite, same run.
    for kind, name, target in (
        ("token", "tokens/s  PostgreSQL / SQLite", TARGET_PG_TOKENS),
        ("get", "GETs/s    PostgreSQL / SQLite", TARGET_PG_GETS),
    ):
        ratio = _ratio(results, (kind, "ninja", POSTGRESQL), (kind, "ninja", SQLITE))
        if ratio is not None:
            checks.append((name, ratio, f">= {target:.2f}", ratio >= target))
    return checks


def _us(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}us"


def report(
    cases: list[Case],
    args: argparse.Namespace,
    load: tuple[float, float],
    stores: str,
    skipped: str | None,
) -> None:
    line = "-" * 132
    stored = sorted({c.store for c in cases if c.store}, key=list(STORE_NAMES).index)
    sides = " and ninja" if len(stored) < 2 else ", ninja on SQLite and ninja on PostgreSQL"
    print()
    print(
        f"ninja-oauth bench: wrk {args.threads} threads x {args.connections} connections, "
        f"{args.rounds} rounds per side alternating bare{sides}, each {args.duration:g}s after "
        f"{args.warmup:g}s warm-up; {args.workers} uvicorn workers each, {stores}"
    )
    print(
        f"host: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, load average {load[0]:.1f} before / "
        f"{load[1]:.1f} after (other load skews the numbers)"
    )
    if skipped:
        print(skipped)
    print(line)
    print(
        f"{'endpoint':44} {'store':>6} {'req/s':>9} {'p50':>9} {'p99':>9} {'non-2xx':>8}"
        f" {'body':>6} {'CPU/req':>9} {'+PG CPU':>9} {'total':>9} {'conns':>14}"
    )
    print(line)
    results: dict[tuple[str, str, str], WrkResult] = {}
    for case in cases:
        r = case.result
        if r is None:
            continue
        results[case.kind, case.side, case.store] = r
        bad = r.non_2xx + r.socket_errors
        store = {SQLITE: "SQLite", POSTGRESQL: "PG"}.get(case.store, "-")
        db = _us(case.db_cpu_us_per_request) if case.store == POSTGRESQL else ""
        print(
            f"{case.label:44} {store:>6} {r.requests_per_s:9.1f} {fmt_ms(r.p50_ms):>9} "
            f"{fmt_ms(r.p99_ms):>9} {bad:>8} {case.body_bytes:>5}B "
            f"{_us(case.cpu_us_per_request):>9} {db:>9} "
            f"{_us(case.total_cpu_us_per_request):>9} {case.split:>14}"
        )
    print(line)

    checks = _ratio_checks(results, args.connections)
    print(f"{'ratio':44} {'value':>9} {'target':>9} {'met':>8}")
    print(line)
    for name, value, target, met in checks:
        print(f"{name:44} {value:9.2f} {target:>9} {'yes' if met else 'NO':>8}")
    cpu = {(c.kind, c.side, c.store): c.total_cpu_us_per_request for c in cases}
    info: list[tuple[str, float | None, float | None]] = [
        # (name, numerator, denominator)
        ("(info) CPU/req bare / ninja, tokens", cpu.get(("token", "bare", "")),
         cpu.get(("token", "ninja", SQLITE))),
        ("(info) CPU/req bare / ninja, GETs", cpu.get(("get", "bare", "")),
         cpu.get(("get", "ninja", SQLITE))),
        ("(info) CPU/req PG / SQLite, tokens (total)", cpu.get(("token", "ninja", POSTGRESQL)),
         cpu.get(("token", "ninja", SQLITE))),
        ("(info) CPU/req PG / SQLite, GETs (total)", cpu.get(("get", "ninja", POSTGRESQL)),
         cpu.get(("get", "ninja", SQLITE))),
    ]  # fmt: skip
    for name, numerator, denominator in info:
        if numerator and denominator:
            print(f"{name:44} {numerator / denominator:9.2f}")
    for kind, name in (("token", "tokens/s"), ("get", "GETs/s  ")):
        ratio = _ratio(results, (kind, "ninja", POSTGRESQL), (kind, "bare", ""))
        if ratio is not None:
            print(f"{f'(info) {name} ninja PG / bare':44} {ratio:9.2f}")
    for key, name in (
        (("token", "bare", ""), "(info) bare token p99 / p50"),
        (("token", "ninja", POSTGRESQL), "(info) ninja PG token p99 / p50"),
        (("get", "ninja", SQLITE), "(info) ninja GET p99 / p50"),
        (("get", "ninja", POSTGRESQL), "(info) ninja PG GET p99 / p50"),
        (("get", "bare", ""), "(info) bare GET p99 / p50"),
    ):
        if key in results:
            r = results[key]
            print(f"{name:44} {r.p99_ms / r.p50_ms:9.2f}")
    print(line)
    for case in cases:
        r = case.result
        if r is not None and (r.non_2xx or r.socket_errors):
            print(
                f"WARNING: {case.label} ({case.store or 'bare'}): {r.non_2xx} non-2xx responses "
                f"and {r.socket_errors} socket errors out of {r.requests} requests: its numbers "
                "are not comparable."
            )
    met_count = sum(1 for check in checks if check[3])
    print(
        f"{met_count}/{len(checks)} targets met (informational: `make bench` never fails on them)."
    )
    print(
        "req/s: mean of the rounds; p50, p99: medians. conns: wrk's connections per worker "
        "process in each round, busiest first; an uneven split caps req/s at what the busiest "
        "worker serves."
    )
    if any(c.store == POSTGRESQL for c in cases):
        seen = max((c.meter.backends_seen for c in cases), default=0)
        print(
            "CPU/req: the server's processes (on SQLite the database's work is among them); "
            "+PG CPU: the PostgreSQL backends serving the bench database (pg_stat_activity, "
            f"/proc/<pid>/stat; up to {seen} at once), sampled at the start and end of each "
            "measured run: new ones are counted whole, but one that ended within a run is "
            "missed, and so is PostgreSQL's shared background work (WAL writer, checkpointer); "
            "total: their sum."
        )


@dataclass
class Ninja:
    """One ninja-oauth server under test, on one store."""

    store: str  # SQLITE or POSTGRESQL
    server: Server
    url: str
    form: str  # the client_credentials request body
    token: str  # one access token for the GETs
    meter: CpuMeter
    bodies: dict[str, int]  # kind -> response body size


@dataclass
class Setup:
    """What the measurements need once every server answers."""

    ninjas: list[Ninja]  # SQLite's first when both run
    bare: Server
    bare_url: str
    bare_bodies: dict[str, int]  # kind -> response body size


def start_ninja(
    tmp: Path,
    store: str,
    database_url: str,
    args: argparse.Namespace,
    stack: contextlib.ExitStack,
    backends: BackendCpu | None = None,
) -> tuple[Ninja, bytes, bytes]:
    """The server on ``store``, answering, with a fresh api_services app and one of its tokens;
    and its real token and organizations bodies."""
    port = free_port()
    env = ninja_env(port, database_url)
    app = prepare_ninja(env)
    url = f"http://{HOST}:{port}"
    command = [str(VENV_BIN / "ninja-oauth"), "serve", "--host", HOST, "--port", str(port)]
    log(f"starting ninja-oauth on {STORE_NAMES[store]} at {url} ({args.workers} workers)")
    server = stack.enter_context(
        started(
            f"ninja-oauth ({STORE_NAMES[store]})",
            [*command, "--workers", str(args.workers)],
            env,
            tmp / f"ninja-{store}.log",
        )
    )
    server.wait_ready(url + "/.well-known/oauth-authorization-server")
    form = urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "monitoring",
        }
    )
    status, token_body = http("POST", url + TOKEN_PATH, data=form.encode(), headers=FORM)
    if status != 200:
        raise BenchError(f"token request answered {status}: {token_body[:300]!r}")
    token = json.loads(token_body)["access_token"]
    status, orgs_body = http("GET", url + ORGS_PATH, headers={"Authorization": f"Bearer {token}"})
    if status != 200:
        raise BenchError(f"GET {ORGS_PATH} answered {status}: {orgs_body[:300]!r}")
    log(
        f"real bodies ({STORE_NAMES[store]}): token {len(token_body)} B, "
        f"organizations {len(orgs_body)} B"
    )
    bodies = {"token": len(token_body), "get": len(orgs_body)}
    ninja = Ninja(store, server, url, form, token, CpuMeter(server, backends), bodies)
    return ninja, token_body, orgs_body


def setup(
    tmp: Path, args: argparse.Namespace, stack: contextlib.ExitStack, pg: BenchDatabase | None
) -> Setup:
    ninjas: list[Ninja] = []
    real: tuple[bytes, bytes] | None = None
    if args.store in (SQLITE, "both"):
        ninja, *bodies = start_ninja(tmp, SQLITE, f"sqlite:///{tmp / 'bench.db'}", args, stack)
        ninjas.append(ninja)
        real = real or (bodies[0], bodies[1])
    if pg is not None:
        backends = BackendCpu(pg)
        stack.callback(backends.close)
        ninja, *bodies = start_ninja(tmp, POSTGRESQL, pg.url, args, stack, backends)
        ninjas.append(ninja)
        real = real or (bodies[0], bodies[1])
    assert real is not None  # parse_args and run() leave at least one store

    # The real responses (of the first store): their bodies become the bare app's, byte for
    # byte.
    token_body, orgs_body = real
    (tmp / "token.json").write_bytes(token_body)
    (tmp / "orgs.json").write_bytes(orgs_body)
    first = ninjas[0]
    bare_env = {k: v for k, v in os.environ.items() if not k.startswith("NINJA_OAUTH_")}
    bare_env.update(
        BENCH_TOKEN_JSON=str(tmp / "token.json"),
        BENCH_ORGS_JSON=str(tmp / "orgs.json"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    )
    bare_port = free_port()
    bare_url = f"http://{HOST}:{bare_port}"
    command = [sys.executable, str(HERE / "bare_app.py"), "--host", HOST, "--port"]
    command += [str(bare_port), "--workers", str(args.workers)]
    log(f"starting the bare app on {bare_url} ({args.workers} workers)")
    bare = stack.enter_context(started("bare app", command, bare_env, tmp / "bare.log"))
    bare.wait_ready(bare_url + "/ready")
    bearer = {"Authorization": f"Bearer {first.token}"}
    _, bare_token = http("POST", bare_url + "/token", data=first.form.encode(), headers=FORM)
    _, bare_orgs = http("GET", bare_url + ORGS_PATH, headers=bearer)
    if (len(bare_token), len(bare_orgs)) != (len(token_body), len(orgs_body)):
        log(f"note: the bare bodies are {len(bare_token)} B and {len(bare_orgs)} B")
    return Setup(ninjas, bare, bare_url, {"token": len(bare_token), "get": len(bare_orgs)})


def build_cases(s: Setup) -> list[Case]:
    cases = []
    # In each endpoint's group: bare first, then ninja-oauth on each store, in the order printed.
    for kind in ("token", "get"):
        script = "token.lua" if kind == "token" else "bearer.lua"
        if kind == "token":
            label, path, bare_env = "bare   POST /token", "/token", {"BENCH_BODY": s.ninjas[0].form}
        else:
            label, path = f"bare   GET {ORGS_PATH}", ORGS_PATH
            bare_env = {"BENCH_TOKEN": s.ninjas[0].token}  # the bare app checks no token
        meter = CpuMeter(s.bare)
        body = s.bare_bodies[kind]
        cases.append(
            Case(kind, "bare", "", label, s.bare_url + path, script, bare_env, body, meter)
        )
        for ninja in s.ninjas:
            if kind == "token":
                label, url = f"ninja  POST {TOKEN_PATH} (client_creds)", ninja.url + TOKEN_PATH
                env = {"BENCH_BODY": ninja.form}
            else:
                label, url = f"ninja  GET {ORGS_PATH} (bearer)", ninja.url + ORGS_PATH
                env = {"BENCH_TOKEN": ninja.token}
            body = ninja.bodies[kind]
            cases.append(
                Case(kind, "ninja", ninja.store, label, url, script, env, body, ninja.meter)
            )
    return cases


# Issue 14's reads beside GET /v2/organizations, on the same server and path (the guard, the
# parameters, one indexed read or a page of one): CPU per request within 1.5x of it.
TARGET_READS = 1.5
NEW_READS = [
    ORGS_PATH,
    "/v2/device/5",  # an older read without a response cache, for comparison
    "/v2/device/5/software",
    "/v2/device/5/windows-services",
    "/v2/device/6/alerts",
    "/v2/alerts?sourceType=AGENT_OFFLINE",
    "/v2/queries/software?pageSize=100",
    "/v2/ticketing/ticket/1",
    "/v2/groups",
]


def measure_reads(s: Setup, args: argparse.Namespace) -> None:
    """CPU per request of each of NEW_READS on ninja-oauth (same wrk load, one after another),
    and its ratio to GET /v2/organizations'. On the first store (SQLite's when it runs); on
    PostgreSQL the backends' CPU is added."""
    ninja = s.ninjas[0]
    env = {"BENCH_TOKEN": ninja.token}
    common = {"connections": args.connections, "threads": args.threads}
    rows: list[tuple[str, float, float | None, int]] = []
    for path in NEW_READS:
        url = ninja.url + path
        status, body = http("GET", url, headers={"Authorization": f"Bearer {ninja.token}"})
        if status != 200:
            raise BenchError(f"GET {path} answered {status}: {body[:200]!r}")
        log(f"wrk: {path} ...")
        if args.warmup > 0:
            run_wrk(url, "bearer.lua", env, duration=args.warmup, **common)
        before = ninja.meter.sample()
        result = run_wrk(url, "bearer.lua", env, duration=args.duration, **common)
        server, db = ninja.meter.since(before)
        if ninja.store == POSTGRESQL and server is not None:
            server = None if db is None else server + db
        cpu = None if server is None or not result.requests else server / result.requests * 1e6
        rows.append((path, result.requests_per_s, cpu, len(body)))
    base = rows[0][2]
    print()
    title = f"new reads (issue 14), ninja-oauth on {STORE_NAMES[ninja.store]}"
    print(f"{title:52} {'req/s':>8} {'CPU/req':>9} {'body':>7} ratio")
    for path, rps, cpu, size in rows:
        shown = "-" if cpu is None else f"{cpu:.0f}us"
        ratio = "-" if cpu is None or not base else f"{cpu / base:.2f}"
        print(f"  GET {path:48} {rps:>8.0f} {shown:>9} {size:>6}B {ratio}")
    worst = max((cpu / base for _, _, cpu, _ in rows[2:] if cpu and base), default=None)
    if worst is not None:
        met = "met" if worst <= TARGET_READS else "MISSED"
        target = f"target <= {TARGET_READS}: {met}"
        print(f"  worst CPU/req ratio to {ORGS_PATH}: {worst:.2f} ({target})")


def postgresql_store(args: argparse.Namespace) -> tuple[BenchDatabase | None, str | None]:
    """The bench database, dropped and created afresh, when ``--store`` asks for PostgreSQL;
    and, when ``both`` could not have it, the one line that says why it was skipped. With
    ``--store postgresql`` an unreachable server is an error."""
    if args.store == SQLITE:
        return None, None
    try:
        db = bench_database()
        log(f"recreating the PostgreSQL bench database {db.where}")
        recreate(db)
    except PgUnavailable as exc:
        if args.store == POSTGRESQL:
            raise BenchError(f"PostgreSQL: {exc}") from None
        return None, f"PostgreSQL figures skipped: {exc} (set {ENV_URL} or --store sqlite)"
    return db, None


def run(args: argparse.Namespace) -> None:
    wrk_binary()
    # The skipped line is printed once, with the figures it concerns (report, below).
    pg, skipped = postgresql_store(args)
    stores = "SQLite WAL" if args.store != POSTGRESQL else ""
    if pg is not None:
        stores = " and ".join(filter(None, [stores, f"PostgreSQL at {pg.where}"]))
    load_before = os.getloadavg()[0]
    with (
        tempfile.TemporaryDirectory(prefix="ninja-bench-") as tmp,
        contextlib.ExitStack() as stack,  # stops the servers, whatever happens
    ):
        ready = setup(Path(tmp), args, stack, pg)
        cases = [c for c in build_cases(ready) if args.only in (None, c.kind)]
        for kind in ("token", "get"):
            group = [c for c in cases if c.kind == kind]
            for number in range(args.rounds):
                for case in group if number % 2 == 0 else reversed(group):
                    side = case.side if case.side == "bare" else f"ninja {STORE_NAMES[case.store]}"
                    log(f"wrk: round {number + 1}, {side} {case.url.split('/', 3)[3]} ...")
                    measure(case, args)
        if cases:
            report(cases, args, (load_before, os.getloadavg()[0]), stores, skipped)
        elif skipped:
            print(skipped)
        if args.only in (None, "reads"):
            measure_reads(ready, args)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="ninja-oauth vs a bare Starlette app, under wrk.")
    parser.add_argument("--rounds", type=int, default=3, help="measured runs per side")
    parser.add_argument("--duration", type=float, default=5, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=1, help="seconds of warm-up per run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers per server")
    parser.add_argument(
        "--only",
        choices=["token", "get", "reads"],
        help="measure one endpoint, or issue 14's reads, only",
    )
    parser.add_argument(
        "--store",
        choices=[SQLITE, POSTGRESQL, "both"],
        default="both",
        help=f"ninja-oauth's store(s); both: PostgreSQL too if reachable at {ENV_URL} "
        f"(default {DEFAULT_URL}; its database is dropped and created afresh)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print wrk's own output")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def on_term(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds through the `finally` that stops the servers

    signal.signal(signal.SIGTERM, on_term)
    # Ctrl-C interrupts even when started with SIGINT ignored (a background job of a shell).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run(args)
    except KeyboardInterrupt:
        log("interrupted; servers stopped")
        return 130
    except (BenchError, WrkError) as exc:
        log(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
