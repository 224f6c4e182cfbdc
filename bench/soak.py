"""`make soak`: ninja-oauth under a steady load for minutes; no error, no memory growth.

Starts ``ninja-oauth serve --workers 2`` on a fresh SQLite database (with the demo data, as
``make bench`` does), measures the most client_credentials tokens per second it gives to this
load generator (or takes ``--rate``), then sends requests at a fixed rate — by default 80% of
that — for ``SOAK_SECONDS`` (default 600): half client_credentials token requests, half bearer
``GET /v2/organizations`` with tokens it was just given. Every 10 s it samples the resident
memory (RSS) of the server's processes (the parent and every worker, from /proc) and prints a
line. At the end it prints the errors, the RSS at the start, the middle and the end, and the
slope after the warm-up.

Exit status: 0 only if no request failed (anything but a 200, a connection error, a timeout),
no server process died or was replaced, the generator kept up with the rate (95%), and the
RSS at the end is within ``--max-growth`` (20%) of the RSS at the end of the warm-up.

The generator is a few lines of HTTP/1.1 on asyncio streams, one keep-alive connection per
task, with the requests' bytes built once: it costs a fraction of what the server spends per
request, so the server, not the generator, sets the measured rate. The send times are fixed in
advance (request k at start + k / rate), so a slow answer delays the requests behind it and
its latency counts from the time the request was due (no coordinated omission).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import signal
import statistics
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from run import HOST, ORGS_PATH, SQLITE, TOKEN_PATH, BenchError, Server, start_ninja

TIMEOUT = 10.0  # seconds before a request counts as failed


def log(message: str) -> None:
    print(f"soak: {message}", file=sys.stderr, flush=True)


# -- the server's memory ------------------------------------------------------------------------


def server_processes(server: Server) -> dict[int, int]:
    """pid -> RSS in bytes of every process in the server's process group (Linux /proc)."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) != server.proc.pid or fields[0] == "Z":
                continue
            status = (entry / "status").read_text()
        except (OSError, ValueError):
            continue  # gone meanwhile
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                found[int(entry.name)] = int(line.split()[1]) * 1024
    return found


# -- the load -----------------------------------------------------------------------------------


class HttpConnection:
    """One keep-alive HTTP/1.1 connection sending prebuilt requests."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = None
        chunked = close = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            body = b""
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readuntil(b"\r\n")
        else:
            body = await self.reader.readexactly(length or 0)
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Tally:
    """What the load did, in total and since the last sample."""

    sent: int = 0
    ok: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # since the last sample, seconds

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 10:
            self.error_samples.append(what)


class Requests:
    """The prebuilt requests: the token request, and GETs with tokens recently received."""

    def __init__(self, port: int, form: str) -> None:
        host = f"Host: {HOST}:{port}\r\n"
        body = form.encode()
        self.token = (
            f"POST {TOKEN_PATH} HTTP/1.1\r\n{host}"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        self._get_prefix = f"GET {ORGS_PATH} HTTP/1.1\r\n{host}Authorization: Bearer "
        self.gets: deque[bytes] = deque(maxlen=64)

    def keep(self, token: str) -> None:
        self.gets.append(f"{self._get_prefix}{token}\r\n\r\n".encode())

    def get(self) -> bytes:
        return random.choice(self.gets)


async def _send(
    conn: HttpConnection, raw: bytes, is_token: bool, requests: Requests, tally: Tally
) -> bool:
    try:
        status, body = await asyncio.wait_for(conn.request(raw), TIMEOUT)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
        conn.close()
        tally.error(f"{'token' if is_token else 'GET'}: {type(exc).__name__} {exc}"[:200])
        return False
    if status != 200:
        tally.error(f"{'token' if is_token else 'GET'}: HTTP {status} {body[:200]!r}")
        return False
    if is_token and tally.ok % 16 == 0:  # refresh the GETs' tokens now and then
        requests.keep(json.loads(body)["access_token"])
    return True


async def closed_loop(
    port: int, requests: Requests, connections: int, seconds: float
) -> tuple[float, Tally]:
    """Token requests as fast as ``connections`` connections get answers: tokens per second."""
    tally = Tally()
    end = time.monotonic() + seconds

    async def one() -> None:
        conn = HttpConnection(port)
        try:
            while time.monotonic() < end:
                tally.sent += 1
                if await _send(conn, requests.token, True, requests, tally):
                    tally.ok += 1
        finally:
            conn.close()

    start = time.monotonic()
    await asyncio.gather(*(one() for _ in range(connections)))
    return tally.ok / (time.monotonic() - start), tally


async def fixed_rate(
    port: int,
    requests: Requests,
    *,
    rate: float,
    seconds: float,
    connections: int,
    token_share: float,
    tally: Tally,
) -> None:
    """Request k is due at start + k / rate (a token request or a GET, at random in the
    ``token_share`` proportion); ``connections`` tasks each take the next due request. Ends
    after ``seconds``, even if the server fell behind the rate."""
    start = time.monotonic()
    end = start + seconds
    counter = iter(range(int(rate * seconds)))
    rng = random.Random(12)  # the same mix on every run

    async def one() -> None:
        conn = HttpConnection(port)
        try:
            for k in counter:
                due = start + k / rate
                now = time.monotonic()
                if now >= end:
                    break
                if due > now:
                    await asyncio.sleep(due - now)
                is_token = rng.random() < token_share
                tally.sent += 1
                if await _send(
                    conn, requests.token if is_token else requests.get(), is_token, requests, tally
                ):
                    tally.ok += 1
                    tally.latencies.append(time.monotonic() - due)
        finally:
            conn.close()

    await asyncio.gather(*(one() for _ in range(connections)))


# -- the soak -----------------------------------------------------------------------------------


@dataclass
class Sample:
    at: float  # seconds since the fixed-rate load started
    rss: int  # bytes, every server process together
    pids: frozenset[int]
    rate: float  # answers per second since the previous sample
    p99_ms: float
    errors: int


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _mb(value: float) -> str:
    return f"{value / 2**20:.1f} MB"


def _slope(points: list[tuple[float, int]]) -> float:
    """Least-squares slope of RSS over time, bytes per second."""
    if len(points) < 2:
        return 0.0
    xs = [x for x, _ in points]
    ys = [float(y) for _, y in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / den if den else 0.0


async def soak(server: Server, port: int, requests: Requests, args: argparse.Namespace) -> int:
    if args.rate:
        rate = args.rate
        log(f"rate given: {rate:.0f} requests/s")
    else:
        log(f"measuring the token rate ({args.connections} connections, {args.measure:g} s) ...")
        await closed_loop(port, requests, args.connections, 1.0)  # warm-up
        cpu = _cpu_seconds()
        best, measured = await closed_loop(port, requests, args.connections, args.measure)
        own = (_cpu_seconds() - cpu) / args.measure
        if measured.errors:
            log(f"errors while measuring: {measured.error_samples}")
            return 1
        rate = best * args.fraction
        log(
            f"max {best:.0f} tokens/s (this generator used {own:.0%} of a core); soaking at "
            f"{args.fraction:.0%} of it: {rate:.0f}/s"
        )
    warmup = args.warmup if args.warmup is not None else min(60.0, args.seconds / 5)
    log(
        f"{args.seconds:g} s at {rate:.0f} requests/s ({args.token_share:.0%} tokens, the rest "
        f"bearer GETs), {args.connections} connections; RSS every {args.every:g} s, "
        f"warm-up {warmup:g} s"
    )
    tally = Tally()
    samples: list[Sample] = []
    load = asyncio.create_task(
        fixed_rate(
            port,
            requests,
            rate=rate,
            seconds=args.seconds,
            connections=args.connections,
            token_share=args.token_share,
            tally=tally,
        )
    )
    start = time.monotonic()
    first = server_processes(server)
    samples.append(Sample(0.0, sum(first.values()), frozenset(first), 0.0, 0.0, 0))
    print(f"{'t':>6} {'req/s':>7} {'p99':>9} {'errors':>6} {'RSS':>10}  processes", flush=True)
    last_ok, last_at = 0, start
    while not load.done():
        await asyncio.wait({load}, timeout=args.every)
        now = time.monotonic()
        procs = server_processes(server)
        latencies, tally.latencies = tally.latencies, []
        p99 = statistics.quantiles(latencies, n=100)[98] * 1000 if len(latencies) > 1 else 0.0
        sample = Sample(
            now - start,
            sum(procs.values()),
            frozenset(procs),
            (tally.ok - last_ok) / (now - last_at),
            p99,
            tally.errors,
        )
        last_ok, last_at = tally.ok, now
        samples.append(sample)
        print(
            f"{sample.at:6.0f} {sample.rate:7.0f} {sample.p99_ms:7.1f}ms {sample.errors:6d} "
            f"{_mb(sample.rss):>10}  {len(procs)}",
            flush=True,
        )
        if server.proc.poll() is not None:
            log(f"the server exited with {server.proc.returncode}")
            load.cancel()
            break
    with contextlib.suppress(asyncio.CancelledError):
        await load
    return report(samples, tally, rate, warmup, args)


def report(
    samples: list[Sample], tally: Tally, rate: float, warmup: float, args: argparse.Namespace
) -> int:
    failures = []
    elapsed = samples[-1].at
    achieved = tally.ok / elapsed if elapsed else 0.0
    print()
    print(
        f"requests: {tally.sent} sent, {tally.ok} answered 200, {tally.errors} errors; "
        f"{achieved:.0f}/s of {rate:.0f}/s over {elapsed:.0f} s"
    )
    if tally.errors:
        failures.append(f"{tally.errors} errors")
        for sample in tally.error_samples:
            print(f"  error: {sample}")
    if achieved < 0.95 * rate:
        failures.append(f"the load fell behind its rate ({achieved:.0f}/s of {rate:.0f}/s)")
    if len({s.pids for s in samples}) > 1:
        failures.append("a server process died or was replaced during the soak")
    steady = [s for s in samples if s.at >= warmup] or samples[-1:]
    base, middle, end = steady[0], steady[len(steady) // 2], samples[-1]
    slope = _slope([(s.at, s.rss) for s in steady])
    growth = (end.rss - base.rss) / base.rss if base.rss else 0.0
    print(
        f"RSS (parent + workers): start {_mb(samples[0].rss)}, after warm-up "
        f"{_mb(base.rss)} (t={base.at:.0f} s), middle {_mb(middle.rss)} (t={middle.at:.0f} s), "
        f"end {_mb(end.rss)} (t={end.at:.0f} s)"
    )
    print(
        f"RSS growth after warm-up: {growth:+.1%} (limit {args.max_growth:.0%}); slope "
        f"{slope * 60 / 2**20:+.2f} MB/min"
    )
    if growth > args.max_growth:
        failures.append(f"memory grew {growth:.0%} after the warm-up")
    print("soak: PASS" if not failures else "soak: FAIL: " + "; ".join(failures), flush=True)
    return 1 if failures else 0


def run(args: argparse.Namespace) -> int:
    with (
        tempfile.TemporaryDirectory(prefix="ninja-soak-") as tmp,
        contextlib.ExitStack() as stack,  # stops the server, whatever happens
    ):
        database = f"sqlite:///{Path(tmp) / 'ninja-oauth.db'}"
        ninja, _token, _orgs = start_ninja(Path(tmp), SQLITE, database, args.workers, stack)
        server, form = ninja.server, ninja.form
        port = int(ninja.url.rsplit(":", 1)[1])
        requests = Requests(port, form)

        async def main() -> int:
            conn = HttpConnection(port)
            status, body = await conn.request(requests.token)
            conn.close()
            if status != 200:
                raise BenchError(f"token request answered {status}: {body[:300]!r}")
            requests.keep(json.loads(body)["access_token"])
            return await soak(server, port, requests, args)

        return asyncio.run(main())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="ninja-oauth under a steady load for minutes.")
    parser.add_argument(
        "--seconds",
        type=float,
        default=float(os.environ.get("SOAK_SECONDS", 600)),
        help="how long the fixed-rate load runs (default: SOAK_SECONDS or 600)",
    )
    parser.add_argument("--rate", type=float, help="requests per second (default: measured)")
    parser.add_argument("--fraction", type=float, default=0.8, help="of the measured token rate")
    parser.add_argument("--measure", type=float, default=5, help="seconds measuring the rate")
    parser.add_argument("--token-share", type=float, default=0.5, help="tokens among requests")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument("--every", type=float, default=10, help="seconds between RSS samples")
    parser.add_argument(
        "--warmup", type=float, help="seconds before the RSS baseline (default: min(60, 20%%))"
    )
    parser.add_argument("--max-growth", type=float, default=0.20, help="RSS growth allowed")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def on_term(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds through the `finally` that stops the server

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return run(args)
    except KeyboardInterrupt:
        log("interrupted; server stopped")
        return 130
    except BenchError as exc:
        log(f"error: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
