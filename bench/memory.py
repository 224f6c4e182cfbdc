"""`make bench-long`: each uvicorn worker's memory after 1,000,000 client_credentials tokens.

Issue 13: the RSS of each worker after 1,000,000 tokens issued, on each store; goal <= 120 MB.
Not part of `make test` (minutes of load). Starts ``ninja-oauth serve --workers 2`` on a fresh
SQLite database, then (``--store both``, the default, when PostgreSQL is reachable) on a fresh
PostgreSQL database: ``NINJA_OAUTH_BENCH_DATABASE_URL``'s with ``_memory`` after its name, so
that it never touches `make bench`'s, dropped again at the end. Each server gets wrk's
client_credentials requests (2 threads x 8 connections, as `make bench`) in runs of whole
seconds until the 200 responses wrk counted, added up over the runs, reach ``--tokens``.

Why runs: wrk cannot stop after a number of requests, but a run sized from the previous run's
rate ends just past the next checkpoint (every ``--every`` tokens), and between two runs the
count is exact and the workers are idle. The RSS is each worker's VmRSS (``/proc/<pid>/status``:
resident pages, shared libraries included, as `ps` and `top` show it), read at the start, at
every checkpoint and at the end. A store stops early after ``--max-seconds`` of load.

Prints a table per store as soon as it is done. Exit status: 0 when every store reached its
tokens; 1 when one stopped short (``--max-seconds``, or no token in a whole run), a worker was
replaced (its RSS would start again from nothing) or something broke. The goal is printed,
never fails the run (as `make bench`'s targets).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from loadgen import run_wrk, wrk_binary
from pg_bench import PgUnavailable, drop
from run import (
    POSTGRESQL,
    SQLITE,
    STORE_NAMES,
    TOKEN_PATH,
    BenchError,
    Ninja,
    guarded,
    postgresql_store,
    start_ninja,
)

GOAL_MB = 120.0  # issue 13: RSS per worker after 1,000,000 tokens
MB = 2**20
FIRST_RUN = 2  # seconds: the first run only measures the rate
LONGEST_RUN = 60  # seconds: a run sized from a rate that then drops still ends in time


def log(message: str) -> None:
    print(f"memory: {message}", file=sys.stderr, flush=True)


def memory(pid: int) -> tuple[int, int]:
    """VmRSS and RssAnon of a process, in bytes: all its resident pages, and those of them
    that are its own (the heap: not the shared libraries' code, which other processes share)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        raise BenchError(f"worker {pid} is gone") from None
    found = {}
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon"):
            found[name] = int(value.split()[0]) * 1024  # given in kB
    if len(found) != 2:
        raise BenchError(f"no VmRSS or RssAnon for {pid} (a zombie?)")
    return found["VmRSS"], found["RssAnon"]


@dataclass
class Checkpoint:
    tokens: int  # issued so far: 200 responses
    seconds: float  # of load so far
    rss: list[int]  # bytes, per worker
    anon: list[int]  # bytes, per worker

    @classmethod
    def read(cls, tokens: int, seconds: float, workers: list[int]) -> Checkpoint:
        rss, anon = zip(*(memory(pid) for pid in workers), strict=True)
        return cls(tokens, seconds, list(rss), list(anon))


@dataclass
class Outcome:
    store: str
    workers: list[int]  # pids
    checkpoints: list[Checkpoint] = field(default_factory=list)
    non_2xx: int = 0
    socket_errors: int = 0
    runs: int = 0
    stopped: str | None = None  # why it ended short of --tokens


def issue_tokens(ninja: Ninja, args: argparse.Namespace) -> Outcome:
    """wrk runs against the token endpoint until ``args.tokens`` were issued, with the workers'
    RSS read at each checkpoint."""
    workers = ninja.server.worker_pids()
    if len(workers) != args.workers:
        raise BenchError(f"{len(workers)} worker processes found, not {args.workers}")
    outcome = Outcome(ninja.store, workers)
    outcome.checkpoints.append(Checkpoint.read(0, 0.0, workers))
    issued, rate, mark = 0, 0.0, args.every
    start = time.monotonic()
    deadline = start + args.max_seconds
    while issued < args.tokens:
        left = deadline - time.monotonic()
        if left < 1:
            outcome.stopped = f"--max-seconds {args.max_seconds:g} reached"
            break
        goal = min(mark, args.tokens)
        # Rounded up: a run that ends just short of the checkpoint would cost another run.
        seconds = FIRST_RUN if not rate else min(LONGEST_RUN, math.ceil((goal - issued) / rate))
        seconds = max(1, min(seconds, int(left)))
        result = run_wrk(
            ninja.url + TOKEN_PATH,
            "token.lua",
            {"BENCH_BODY": ninja.form},
            duration=seconds,
            connections=args.connections,
            threads=args.threads,
        )
        outcome.runs += 1
        outcome.non_2xx += result.non_2xx
        outcome.socket_errors += result.socket_errors
        done = result.requests - result.non_2xx
        issued += done
        rate = done / seconds
        if ninja.server.worker_pids() != workers:
            outcome.stopped = "a worker process was replaced (its RSS would start again)"
            break
        if not done:
            outcome.stopped = f"no token issued in a {seconds} s run ({result.non_2xx} non-2xx)"
            break
        if issued >= goal:
            outcome.checkpoints.append(Checkpoint.read(issued, time.monotonic() - start, workers))
            while mark <= issued:
                mark += args.every
            log(f"{STORE_NAMES[ninja.store]}: {issued:,} tokens ({rate:.0f}/s)")
    if outcome.checkpoints[-1].tokens != issued and ninja.server.worker_pids() == workers:
        outcome.checkpoints.append(Checkpoint.read(issued, time.monotonic() - start, workers))
    return outcome


def _mb(value: float) -> str:
    return f"{value / MB:.1f} MB"


def report(outcome: Outcome, args: argparse.Namespace) -> None:
    store = "SQLite WAL" if outcome.store == SQLITE else "PostgreSQL"
    count = len(outcome.workers)
    print()
    print(
        f"memory (issue 13) on {store}: `ninja-oauth serve --workers {count}`, "
        f"{args.tokens:,} client_credentials tokens asked from wrk ({args.threads} threads x "
        f"{args.connections} connections); RSS: each uvicorn worker's VmRSS, MB = 2^20 bytes"
    )
    workers = "".join(f"{f'worker {n}':>12}" for n in range(1, count + 1))
    print(f"{'tokens':>11} {'seconds':>8} {'tokens/s':>9}{workers}")
    previous: Checkpoint | None = None
    for point in outcome.checkpoints:
        speed = "-"
        if previous is not None and point.seconds > previous.seconds:
            speed = f"{(point.tokens - previous.tokens) / (point.seconds - previous.seconds):.0f}"
        sizes = "".join(f"{_mb(size):>12}" for size in point.rss)
        print(f"{point.tokens:>11,} {point.seconds:>8.0f} {speed:>9}{sizes}")
        previous = point
    first, end = outcome.checkpoints[0], outcome.checkpoints[-1]
    met = all(size <= GOAL_MB * MB for size in end.rss)
    growth = ", ".join(f"{(b - a) / MB:+.1f} MB" for a, b in zip(first.rss, end.rss, strict=True))
    print(
        f"end: {end.tokens:,} tokens issued (200 responses) in {end.seconds:.0f} s and "
        f"{outcome.runs} wrk runs; {outcome.non_2xx} non-2xx, {outcome.socket_errors} socket "
        "errors"
    )
    print(
        f"end RSS per worker: {', '.join(_mb(size) for size in end.rss)}; goal <= "
        f"{GOAL_MB:g} MB: {'met' if met else 'MISSED'} (since the start: {growth})"
    )
    anon = ", ".join(_mb(size) for size in end.anon)
    print(f"(info) of which RssAnon (the worker's own pages, not shared libraries): {anon}")
    if outcome.stopped:
        print(f"INCOMPLETE: stopped at {end.tokens:,} of {args.tokens:,} tokens: {outcome.stopped}")


def measure_store(store: str, database_url: str, args: argparse.Namespace, tmp: Path) -> Outcome:
    with contextlib.ExitStack() as stack:  # stops the server, whatever happens
        ninja, *_ = start_ninja(tmp, store, database_url, args.workers, stack)
        log(
            f"{STORE_NAMES[store]}: issuing {args.tokens:,} tokens "
            f"(at most {args.max_seconds:g} s) ..."
        )
        return issue_tokens(ninja, args)


def run(args: argparse.Namespace) -> int:
    wrk_binary()
    pg, skipped = postgresql_store(args, suffix="_memory")
    print(
        f"host: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start "
        "(other load slows the tokens down, not the memory figures)"
    )
    if skipped:
        print(skipped)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="ninja-memory-") as tmp:
        try:
            if args.store != POSTGRESQL:
                db_url = f"sqlite:///{Path(tmp) / 'memory.db'}"
                outcomes.append(measure_store(SQLITE, db_url, args, Path(tmp)))
                report(outcomes[-1], args)
            if pg is not None:
                outcomes.append(measure_store(POSTGRESQL, pg.url, args, Path(tmp)))
                report(outcomes[-1], args)
        finally:
            if pg is not None:
                try:
                    drop(pg)
                except PgUnavailable as exc:
                    log(f"could not drop {pg.where}: {exc}")
    return 1 if any(o.stopped for o in outcomes) else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="RSS per uvicorn worker after N client_credentials tokens (issue 13)."
    )
    parser.add_argument("--tokens", type=int, default=1_000_000, help="tokens per store")
    parser.add_argument("--every", type=int, default=100_000, help="tokens between checkpoints")
    parser.add_argument(
        "--max-seconds", type=float, default=1800, help="of load per store, then it stops"
    )
    parser.add_argument(
        "--store",
        choices=[SQLITE, POSTGRESQL, "both"],
        default="both",
        help="both: PostgreSQL too if reachable (its database is dropped and created afresh)",
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if args.tokens < 1 or args.every < 1:
        parser.error("--tokens and --every must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return guarded(lambda: run(args), log)


if __name__ == "__main__":
    sys.exit(main())
