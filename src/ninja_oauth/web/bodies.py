"""Every request body is read whole by the front door before any app sees it: within a size
and a time limit, before authentication (issue 12, finding 2 and the half-sent requests).

A body over its limit is refused as soon as its ``Content-Length`` says so, or as soon as the
bytes read pass it; a body that stops arriving is refused after ``NINJA_OAUTH_BODY_TIMEOUT``
seconds. The app then reads the kept body as usual (``replay``). Reading here rather than in
each endpoint puts the limit in one place for every way in, forms and the Public API alike;
no framework offers it (Starlette and FastAPI read what the client sends).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope

from ninja_oauth.web.errors import error_page, protocol_error

# Methods whose body nobody reads are passed through untouched.
WITHOUT_BODY = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Refused:
    status: int  # 413 or 408
    description: str


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyReader:
    """Reads bodies within a size limit and ``timeout`` seconds.

    The deadlines share one timer per process, which ticks every ``TICK`` seconds while a body
    is being read and cancels the reads past their deadline: ``asyncio.timeout`` per request
    (a timer handle, a heap entry and a task lookup each) cost 13 µs of a client_credentials
    token's ~290 (py-spy, 1 worker under wrk), this costs about one. A deadline is thus kept
    to within ``TICK``.
    """

    TICK = 0.25

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._reading: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._ticking_on: asyncio.AbstractEventLoop | None = None

    async def read(self, scope: Scope, receive: Receive, limit: int) -> bytes | Refused:
        """The whole body, or why it was refused."""
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            return _too_large(limit)
        task = asyncio.current_task()
        assert task is not None
        cancelling = task.cancelling()  # cancellations asked by others before this read
        loop = asyncio.get_running_loop()
        self._reading[task] = loop.time() + self.timeout
        if self._ticking_on is not loop:
            self._ticking_on = loop
            loop.call_later(self.TICK, self._tick, loop)
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                message = await receive()
                if message["type"] != "http.request":  # the client went away
                    return Refused(400, "The client closed the connection mid-request.")
                chunk: bytes = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    return _too_large(limit)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            self._expired.discard(task)
            if task.uncancel() > cancelling:
                raise  # someone else cancelled it too (a shutdown): theirs goes on
            return Refused(408, f"The request body did not arrive within {self.timeout:g} seconds.")
        finally:
            del self._reading[task]
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self._ticking_on:
            return  # another loop took over (tests run several)
        if not self._reading:
            self._ticking_on = None  # the next read starts the timer again
            return
        now = loop.time()
        for task, deadline in self._reading.items():
            if deadline <= now and task not in self._expired:
                self._expired.add(task)
                task.cancel()
        loop.call_later(self.TICK, self._tick, loop)


def _too_large(limit: int) -> Refused:
    return Refused(413, f"The request body is over {limit} bytes.")


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once, then waits on the connection (a disconnect)."""
    given = False

    async def receive_again() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive_again


def refusal(scope: Scope, refused: Refused, page: bool) -> Response:
    """The answer to a refused body: RFC 6749-shaped JSON (the protocol endpoints and the
    Public API use that shape), or for a browser on the site, an error page. The connection is
    closed after it: the rest of the body is never read."""
    headers = [("Connection", "close")]
    request = Request(scope)
    if page and "text/html" in request.headers.get("accept", ""):
        response = error_page(
            request,
            refused.status,
            "The request could not be read",
            refused.description,
            "invalid_request",
            advice="Go back and send the form again.",
        )
        response.headers["Connection"] = "close"
        return response
    return protocol_error(refused.status, "invalid_request", refused.description, headers)
