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

With PostgreSQL and ``--nodes 2`` (the default), two more servers of half the workers each
serve the same PostgreSQL database with the same key and issuer (a token from node 1 must open
node 2's API first) and are loaded at once, each with half of wrk's connections, in the same
rounds; their combined figures are printed beside the PostgreSQL server alone (issue 13).
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
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
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

    def _group_stats(self) -> list[tuple[int, list[str]]] | None:
        """(pid, the fields of /proc/<pid>/stat after the command name) of every process in
        the server's group; None without /proc."""
        try:
            entries = list(Path("/proc").iterdir())
        except OSError:
            return None
        found = []
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == self.proc.pid:  # fields[2]: the process group
                found.append((int(entry.name), fields))
        return found

    def cpu_seconds(self) -> float | None:
        """User + system CPU of every process in the server's group so far (Linux /proc)."""
        stats = self._group_stats()
        if stats is None:
            return None
        total = sum(int(fields[11]) + int(fields[12]) for _, fields in stats)  # utime + stime
        return total / os.sysconf("SC_CLK_TCK")  # from clock ticks

    def worker_pids(self) -> list[int]:
        """The uvicorn workers serving requests: with ``--workers`` above 1 the server's
        children (``python -m ninja_oauth.serving``, src/ninja_oauth/serving.py), with one
        worker the server process itself. Sorted, so that worker 1 stays worker 1."""
        workers = []
        for pid, fields in self._group_stats() or []:
            if fields[0] == "Z" or int(fields[1]) != self.proc.pid:  # fields[1]: the parent
                continue
            with contextlib.suppress(OSError):
                if b"ninja_oauth.serving" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    workers.append(pid)
        return sorted(workers) or [self.proc.pid]

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
    node: int = 0  # 1 or 2: a node of the two-node section (run at once); 0: a server alone
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
    with ``ss``: the kernel spreads them over the workers' sockets by a hash (ninja_oauth.serving),
    and a busier worker caps the throughput. "-" without ss."""
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


def _at_once(cases: Sequence[Case], run: Callable[[Case], WrkResult]) -> list[WrkResult]:
    """``run`` for each case, all started together (one wrk process each)."""
    if len(cases) == 1:
        return [run(cases[0])]
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        return list(pool.map(run, cases))


def measure(together: Sequence[Case], args: argparse.Namespace) -> None:
    """One round: a warm-up, then a measured run on new connections. ``together`` holds one
    case, or the nodes of a cluster, loaded at once: wrk's connections and threads are then
    shared out between them, so that the load in all is the same as one server's."""
    share = len(together)
    common = {"connections": args.connections // share, "threads": max(1, args.threads // share)}
    if args.warmup > 0:
        _at_once(
            together, lambda c: run_wrk(c.url, c.script, c.env, duration=args.warmup, **common)
        )
    befores = [case.meter.sample() for case in together]
    samplers = []
    for case in together:
        port = int(case.url.split(":")[2].split("/")[0])
        sampler = threading.Timer(min(2.0, args.duration / 2), _sample_split, (case, port))
        sampler.start()
        samplers.append(sampler)
    results = _at_once(
        together, lambda c: run_wrk(c.url, c.script, c.env, duration=args.duration, **common)
    )
    for sampler in samplers:
        sampler.join()
    for case, before, result in zip(together, befores, results, strict=True):
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
    warn_errors(cases)
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


def warn_errors(cases: Sequence[Case]) -> None:
    for case in cases:
        r = case.result
        if r is not None and (r.non_2xx or r.socket_errors):
            print(
                f"WARNING: {case.label} ({case.store or 'bare'}): {r.non_2xx} non-2xx responses "
                f"and {r.socket_errors} socket errors out of {r.requests} requests: its numbers "
                "are not comparable."
            )


def combined(nodes: Sequence[Case]) -> Case:
    """The nodes of one endpoint as one case: per round their requests and req/s added up
    (p50 and p99 exist per node only: 0 here, printed as "-"), their processes' CPU added up,
    and the PostgreSQL backends' CPU, which node 1's meter reads for all of them."""
    first = nodes[0]
    rounds = [
        WrkResult(
            requests_per_s=sum(r.requests_per_s for r in per_node),
            p50_ms=0.0,
            p99_ms=0.0,
            requests=sum(r.requests for r in per_node),
            non_2xx=sum(r.non_2xx for r in per_node),
            socket_errors=sum(r.socket_errors for r in per_node),
            output="",
        )
        for per_node in zip(*(n.rounds for n in nodes), strict=True)
    ]
    cpus = [n.cpu_seconds for n in nodes]
    cpu = None if None in cpus else sum(c for c in cpus if c is not None)
    label = f"{len(nodes)} nodes"
    case = Case(first.kind, "ninja", POSTGRESQL, label, "", first.script, {}, 0, first.meter)
    case.rounds, case.cpu_seconds, case.db_cpu_seconds = rounds, cpu, first.db_cpu_seconds
    return case


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def report_nodes(cases: Sequence[Case], args: argparse.Namespace) -> None:
    """The two-node section: each endpoint's PostgreSQL server alone, the nodes together, and
    each node; then what the figures say about more cores."""
    nodes = max(c.node for c in cases)
    per_node = _count(args.workers // nodes, "worker")
    line = "-" * 132
    print()
    print(
        f"two nodes on one PostgreSQL (issue 13): {nodes} x `serve --workers "
        f"{args.workers // nodes}` on the database of the server alone, with its secret key and "
        f"issuer, each under its own wrk ({_count(max(1, args.threads // nodes), 'thread')} x "
        f"{args.connections // nodes} connections) at once, in the rounds above; beside the "
        f"server alone ({args.workers} workers, wrk {args.threads} threads x {args.connections} "
        "connections)"
    )
    print(line)
    print(
        f"{'endpoint':44} {'servers':>24} {'req/s':>9} {'p50':>9} {'p99':>9} {'non-2xx':>8} "
        f"{'CPU/req':>9} {'+PG CPU':>9} {'total':>9}"
    )
    print(line)
    ratios: list[tuple[str, float, float | None]] = []
    arithmetic: list[str] = []
    for kind in ("token", "get"):
        alone = next(
            (c for c in cases if c.kind == kind and c.store == POSTGRESQL and not c.node), None
        )
        members = [c for c in cases if c.kind == kind and c.node]
        if alone is None or alone.result is None or not members:
            continue  # an endpoint left out by --only
        together = combined(members)
        rows = [
            (alone.label, f"1 node x {args.workers} workers", alone),
            ("", f"{nodes} nodes x {per_node}", together),
            *(("", member.label, member) for member in members),
        ]
        for label, servers, case in rows:
            r = case.result
            assert r is not None  # every case of the section ran its rounds
            p50, p99 = (fmt_ms(r.p50_ms), fmt_ms(r.p99_ms)) if r.p50_ms else ("-", "-")
            own = case is alone or case is together  # per node: no share of the backends
            db = _us(case.db_cpu_us_per_request) if own else "-"
            total = _us(case.total_cpu_us_per_request) if own else "-"
            print(
                f"{label:44} {servers:>24} {r.requests_per_s:9.1f} {p50:>9} {p99:>9} "
                f"{r.non_2xx + r.socket_errors:>8} {_us(case.cpu_us_per_request):>9} {db:>9} "
                f"{total:>9}"
            )
        name = "tokens/s" if kind == "token" else "GETs/s  "
        both, one = together.result, alone.result
        assert both is not None
        cpu_both, cpu_one = together.total_cpu_us_per_request, alone.total_cpu_us_per_request
        ratios.append(
            (
                name,
                both.requests_per_s / one.requests_per_s if one.requests_per_s else 0.0,
                cpu_both / cpu_one if cpu_both and cpu_one else None,
            )
        )
        server, backends = together.cpu_us_per_request, together.db_cpu_us_per_request
        if server and backends:
            arithmetic.append(
                f"(info) {name.strip()}: a node's core ~{1e6 / server:.0f} req/s, a PostgreSQL "
                f"core ~{1e6 / backends:.0f} req/s (1e6 / CPU/req, 1e6 / +PG CPU): about "
                f"{server / backends:.1f} node cores per PostgreSQL core"
            )
    print(line)
    for name, speed, cpu in ratios:
        cpu_ratio = "-" if cpu is None else f"{cpu:.2f}"
        print(f"{f'(info) {name} {nodes} nodes / 1 node':44} {speed:9.2f}   CPU/req {cpu_ratio}")
    for text in arithmetic:
        print(text)
    print(line)
    warn_errors([c for c in cases if c.node])
    print(
        f"Checked before the load: a token issued by node 1 answered 200 on node 2; the GETs "
        f"of every node use it. On this host ({os.cpu_count()} CPUs) both lines run "
        f"{args.workers} worker processes beside PostgreSQL and wrk on the same CPUs: the "
        "difference is what sharing one database from two servers costs, not scaling. With "
        "its own cores each node should add about one node's req/s, until PostgreSQL's cores "
        "are busy (the arithmetic above: CPU only; a token's commit also waits for the WAL "
        "flush, which PostgreSQL shares between concurrent commits)."
    )


@dataclass
class Ninja:
    """One ninja-oauth server under test, on one store."""

    store: str  # SQLITE or POSTGRESQL
    server: Server
    url: str
    env: dict[str, str]  # its NINJA_OAUTH_* settings (database, key, issuer) and the rest
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
    nodes: list[Ninja] = field(default_factory=list)  # the two-node section's, if it runs
    nodes_failed: str | None = None  # why the two-node section could not run


def serve(
    tmp: Path, name: str, env: dict[str, str], port: int, workers: int, stack: contextlib.ExitStack
) -> tuple[Server, str]:
    """``ninja-oauth serve`` on ``port``, answering, and its base URL; stopped with ``stack``."""
    url = f"http://{HOST}:{port}"
    command = [str(VENV_BIN / "ninja-oauth"), "serve", "--host", HOST, "--port", str(port)]
    log(f"starting {name} at {url} ({_count(workers, 'worker')})")
    log_name = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    server = stack.enter_context(
        started(name, [*command, "--workers", str(workers)], env, tmp / f"{log_name}.log")
    )
    server.wait_ready(url + "/.well-known/oauth-authorization-server")
    return server, url


def new_token(url: str, form: str) -> tuple[str, bytes]:
    """A client_credentials access token from the server at ``url``, and the response body."""
    status, body = http("POST", url + TOKEN_PATH, data=form.encode(), headers=FORM)
    if status != 200:
        raise BenchError(f"token request to {url} answered {status}: {body[:300]!r}")
    return json.loads(body)["access_token"], body


def get_organizations(url: str, token: str) -> tuple[int, bytes]:
    return http("GET", url + ORGS_PATH, headers={"Authorization": f"Bearer {token}"})


def start_ninja(
    tmp: Path,
    store: str,
    database_url: str,
    workers: int,
    stack: contextlib.ExitStack,
    backends: BackendCpu | None = None,
) -> tuple[Ninja, bytes, bytes]:
    """The server on ``store``, answering, with a fresh api_services app and one of its tokens;
    and its real token and organizations bodies."""
    port = free_port()
    env = ninja_env(port, database_url)
    app = prepare_ninja(env)
    name = f"ninja-oauth ({STORE_NAMES[store]})"
    server, url = serve(tmp, name, env, port, workers, stack)
    form = urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "monitoring",
        }
    )
    token, token_body = new_token(url, form)
    status, orgs_body = get_organizations(url, token)
    if status != 200:
        raise BenchError(f"GET {ORGS_PATH} answered {status}: {orgs_body[:300]!r}")
    log(
        f"real bodies ({STORE_NAMES[store]}): token {len(token_body)} B, "
        f"organizations {len(orgs_body)} B"
    )
    bodies = {"token": len(token_body), "get": len(orgs_body)}
    ninja = Ninja(store, server, url, env, form, token, CpuMeter(server, backends), bodies)
    return ninja, token_body, orgs_body


def start_nodes(
    tmp: Path, alone: Ninja, args: argparse.Namespace, stack: contextlib.ExitStack
) -> tuple[list[Ninja], str | None]:
    """The two-node section's servers: ``args.nodes`` more ``serve`` processes on the database
    of ``alone`` (the PostgreSQL server measured alone), with its settings (the same secret key,
    which the stored secrets' digests need, and the same issuer, as behind one public address)
    and ``args.workers / args.nodes`` workers each; and why the section cannot run, if a token
    from node 1 is refused by node 2."""
    workers = args.workers // args.nodes
    nodes: list[Ninja] = []
    for number in range(1, args.nodes + 1):
        port = free_port()
        server, url = serve(tmp, f"ninja-oauth node {number}", alone.env, port, workers, stack)
        # The PostgreSQL backends serve both nodes and cannot be told apart by node: node 1's
        # meter reads them all, and the section reports them for the nodes together.
        meter = CpuMeter(server, alone.meter.backends if number == 1 else None)
        nodes.append(Ninja(POSTGRESQL, server, url, alone.env, alone.form, "", meter, {}))
    # Proof, before any load, that the nodes are one deployment: a token node 1 just issued
    # opens node 2's API. Under load every node's GETs then use that token.
    token, token_body = new_token(nodes[0].url, alone.form)
    for node in nodes:
        status, body = get_organizations(node.url, token)
        if status != 200:
            return nodes, (
                f"a token issued by node 1 ({nodes[0].url}) answered {status} on {node.url}: "
                f"{body[:200]!r}"
            )
        node.token = token
        node.bodies = {"token": len(token_body), "get": len(body)}
    log(f"a token issued by node 1 answered 200 on every node ({len(nodes)})")
    return nodes, None


def setup(
    tmp: Path, args: argparse.Namespace, stack: contextlib.ExitStack, pg: BenchDatabase | None
) -> Setup:
    ninjas: list[Ninja] = []
    real: tuple[bytes, bytes] | None = None
    if args.store in (SQLITE, "both"):
        sqlite_url = f"sqlite:///{tmp / 'bench.db'}"
        ninja, *bodies = start_ninja(tmp, SQLITE, sqlite_url, args.workers, stack)
        ninjas.append(ninja)
        real = real or (bodies[0], bodies[1])
    if pg is not None:
        backends = BackendCpu(pg)
        stack.callback(backends.close)
        ninja, *bodies = start_ninja(tmp, POSTGRESQL, pg.url, args.workers, stack, backends)
        ninjas.append(ninja)
        real = real or (bodies[0], bodies[1])
    assert real is not None  # parse_args and run() leave at least one store
    nodes: list[Ninja] = []
    nodes_failed = None
    if pg is not None and args.nodes > 1 and args.only != "reads":
        nodes, nodes_failed = start_nodes(tmp, ninjas[-1], args, stack)

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
    bare_bodies = {"token": len(bare_token), "get": len(bare_orgs)}
    return Setup(ninjas, bare, bare_url, bare_bodies, nodes, nodes_failed)


def ninja_case(kind: str, ninja: Ninja, node: int = 0) -> Case:
    if kind == "token":
        label, url = f"ninja  POST {TOKEN_PATH} (client_creds)", ninja.url + TOKEN_PATH
        env, script = {"BENCH_BODY": ninja.form}, "token.lua"
    else:
        label, url = f"ninja  GET {ORGS_PATH} (bearer)", ninja.url + ORGS_PATH
        env, script = {"BENCH_TOKEN": ninja.token}, "bearer.lua"
    if node:
        label = f"node {node} ({url.split('/')[2]})"
    body = ninja.bodies[kind]
    return Case(kind, "ninja", ninja.store, label, url, script, env, body, ninja.meter, node)


def build_cases(s: Setup) -> list[Case]:
    cases = []
    # In each endpoint's group: bare first, then ninja-oauth on each store, in the order printed,
    # then the nodes.
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
        cases.extend(ninja_case(kind, ninja) for ninja in s.ninjas)
        if s.nodes_failed is None:
            cases.extend(ninja_case(kind, n, number) for number, n in enumerate(s.nodes, 1))
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
    """CPU per request of each of NEW_READS on ninja-oauth (same wrk load), and its ratio to
    GET /v2/organizations' measured just before it: this machine's speed drifts by tens of
    percent within minutes, so each read is compared with the base run beside it, not with one
    run at the start. On the first store (SQLite's when it runs); on PostgreSQL the backends'
    CPU is added."""
    ninja = s.ninjas[0]
    env = {"BENCH_TOKEN": ninja.token}
    common = {"connections": args.connections, "threads": args.threads}

    def measure(path: str) -> tuple[float, float | None, int]:
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
        return result.requests_per_s, cpu, len(body)

    rows: list[tuple[str, float, float | None, int, float | None]] = []
    for path in NEW_READS[1:]:
        _, base, _ = measure(ORGS_PATH)
        rps, cpu, size = measure(path)
        rows.append((path, rps, cpu, size, base))
    print()
    title = f"new reads (issue 14), ninja-oauth on {STORE_NAMES[ninja.store]}"
    print(f"{title:52} {'req/s':>8} {'CPU/req':>9} {'body':>7} {'orgs':>7} ratio")
    ratios: list[float] = []
    for path, rps, cpu, size, base in rows:
        shown = "-" if cpu is None else f"{cpu:.0f}us"
        orgs = "-" if base is None else f"{base:.0f}us"
        ratio = None if cpu is None or not base else cpu / base
        if ratio is not None and path != NEW_READS[1]:  # the second: an older, uncached read
            ratios.append(ratio)
        print(
            f"  GET {path:48} {rps:>8.0f} {shown:>9} {size:>6}B {orgs:>7} "
            + ("-" if ratio is None else f"{ratio:.2f}")
        )
    if ratios:
        worst = max(ratios)
        met = "met" if worst <= TARGET_READS else "MISSED"
        print(
            f"  worst CPU/req ratio to {ORGS_PATH} (measured just before each): {worst:.2f} "
            f"(target <= {TARGET_READS}: {met})"
        )


def postgresql_store(
    args: argparse.Namespace, suffix: str = ""
) -> tuple[BenchDatabase | None, str | None]:
    """The bench database (its name followed by ``suffix``), dropped and created afresh, when
    ``--store`` asks for PostgreSQL; and, when ``both`` could not have it, the one line that
    says why it was skipped. With ``--store postgresql`` an unreachable server is an error."""
    if args.store == SQLITE:
        return None, None
    try:
        db = bench_database(suffix=suffix)
        log(f"recreating the PostgreSQL bench database {db.where}")
        recreate(db)
    except PgUnavailable as exc:
        if args.store == POSTGRESQL:
            raise BenchError(f"PostgreSQL: {exc}") from None
        return None, f"PostgreSQL figures skipped: {exc} (set {ENV_URL} or --store sqlite)"
    return db, None


def run(args: argparse.Namespace) -> int:
    """The whole bench; its exit status (1 if the two-node section could not run)."""
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
            # Each item is measured on its own, the nodes together; the nodes come last, next
            # to PostgreSQL alone (and first in the reversed rounds).
            group: list[list[Case]] = [[c] for c in cases if c.kind == kind and not c.node]
            nodes = [c for c in cases if c.kind == kind and c.node]
            group += [nodes] if nodes else []
            for number in range(args.rounds):
                for together in group if number % 2 == 0 else reversed(group):
                    case = together[0]
                    side = case.side if case.side == "bare" else f"ninja {STORE_NAMES[case.store]}"
                    side += f", {len(together)} nodes at once" if case.node else ""
                    log(f"wrk: round {number + 1}, {side} {case.url.split('/', 3)[3]} ...")
                    measure(together, args)
        alone = [c for c in cases if not c.node]
        if alone:
            report(alone, args, (load_before, os.getloadavg()[0]), stores, skipped)
        elif skipped:
            print(skipped)
        if ready.nodes_failed is not None:
            print(f"\ntwo nodes on one PostgreSQL: FAILED: {ready.nodes_failed}")
        elif any(c.node for c in cases):
            report_nodes(cases, args)
        if args.only in (None, "reads"):
            measure_reads(ready, args)
    return 0 if ready.nodes_failed is None else 1


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
    parser.add_argument(
        "--nodes",
        type=int,
        choices=[1, 2],
        default=2,
        help="2: also serve the PostgreSQL database from two servers of workers/2 workers each, "
        "loaded at once (connections/2 each); 1: skip that section",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print wrk's own output")
    args = parser.parse_args(argv)
    # The nodes share out one server's workers and connections: the same totals, or it would
    # be no comparison.
    if (
        args.nodes > 1
        and args.store != SQLITE
        and (args.workers % args.nodes or args.connections % args.nodes)
    ):
        parser.error(
            f"--nodes {args.nodes} needs --workers and --connections divisible by it (or --nodes 1)"
        )
    return args


def guarded(body: Callable[[], int], say: Callable[[str], None]) -> int:
    """``body()``'s exit status; 1 if it raised BenchError or WrkError (said with ``say``), 130
    on Ctrl-C. On SIGTERM and Ctrl-C as well, the ``finally`` blocks and exit stacks of
    ``body`` stop its servers."""

    def on_term(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds through the `finally` that stops the servers

    signal.signal(signal.SIGTERM, on_term)
    # Ctrl-C interrupts even when started with SIGINT ignored (a background job of a shell).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return body()
    except KeyboardInterrupt:
        say("interrupted; servers stopped")
        return 130
    except (BenchError, WrkError) as exc:
        say(f"error: {exc}")
        return 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return guarded(lambda: run(args), log)


if __name__ == "__main__":
    sys.exit(main())
