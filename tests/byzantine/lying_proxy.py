"""A lying RPC endpoint: an aiohttp proxy in front of a localnet front end that rewrites answers.

The proxy forwards every request to ``upstream`` (a localnet front end, honest or with its own
faults) and passes the answer back, except where a **lie** is being told (``tell``). Each lie is
well-formed: it has the node's shape and the right chain id, so only agreement with other
endpoints, the wall clock or the chain's own record can expose it. The lies (``Lie``):

* ``time_ahead`` — ``GET rpc/v3/block``: the block's timestamp moved ``seconds`` ahead;
* ``sequence_ahead`` — ``GET rpc/v3/accounts/{address}``: the sequence number plus ``by``;
* ``forged_simulation`` — ``POST rpc/v3/transactions/simulate``: every call "succeeds";
* ``inflated_gas`` — ``GET rpc/v3/transactions/estimate_gas_price``: every field is ``price``;
* ``hidden_status`` — ``GET rpc/v3/transactions/{hash}``: 404 "not found" for every hash;
* ``hidden_records`` — the package's storage: a resource (``GET rpc/v3/accounts/{a}/resources/
  {type}``) or a table item (``POST rpc/v2/tables/{handle}/item``) answers the node's 404
  ``ErrResp``, as if the record did not exist (it would read as the view's default);
* ``endless_pages`` — paginated reads never end: the list views (``list_by_all_tags``,
  ``list_finalized_ids``, ``list_active``) answer full pages of ids, and an events page or a
  storage resource page comes back full with a cursor that never runs out (``mode="advance"``: a
  new cursor each page) or never moves (``mode="repeat"``: the cursor it was asked with);
* ``huge_body`` — any ``/rpc/`` answer becomes a 200 whose JSON body is ``size`` bytes long
  (streamed as fast as the client reads);
* ``slow_drip`` — any ``/rpc/`` answer becomes a 200 whose body arrives one byte every
  ``every`` seconds (never ending);
* ``loud_errors`` — any ``/rpc/`` answer becomes an HTTP 500 ``ErrResp`` whose message carries
  ``text`` (what an attacker wants in the victim's logs and health answers);
* ``refused_submit`` — ``POST rpc/v3/transactions/submit`` is not forwarded: a 400 ``ErrResp``
  with ``message`` (default ``SEQUENCE_NUMBER_TOO_NEW``) comes back instead;
* ``swallowed_submit`` — ``POST rpc/v3/transactions/submit`` is forwarded (the node takes the
  transaction) but the answer is held ``hold`` seconds: the client times out not knowing.

``on_told`` (a callable) runs after each lied answer of a telling: a test can act at that very
moment (step a clock, stop an endpoint).

A lie lasts for ``answers`` lied answers, or ``for_seconds`` of wall time, or until ``calm``;
``told`` counts the answers lied in, by lie. ``base_path`` (e.g. ``"/key-1234/"``) is a prefix the
proxy strips before forwarding, so a URL can carry an API key in its path as some providers do.

Used by ``tests/byzantine/`` and by the soak's byzantine mode (``tests/soak/soak.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import re
import socket
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

__all__ = ["Lie", "LyingProxy"]

_HOP_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "content-encoding", "connection", "date", "server"}
)
_HASH = re.compile(r"(0x)?[0-9a-fA-F]{64}")
_STORAGE = re.compile(r"rpc/v3/accounts/[^/]+/resources/.+|rpc/v2/tables/[^/]+/item")
_PAGED = re.compile(r"rpc/v3/events/.+|rpc/v3/accounts/[^/]+/resources")
_LIST_VIEWS = {"list_by_all_tags": 3, "list_finalized_ids": 2, "list_active": 2}
"""List views and the position (1-based) of their ``limit`` argument."""


class Lie(enum.StrEnum):
    TIME_AHEAD = "time_ahead"
    SEQUENCE_AHEAD = "sequence_ahead"
    FORGED_SIMULATION = "forged_simulation"
    INFLATED_GAS = "inflated_gas"
    HIDDEN_STATUS = "hidden_status"
    HIDDEN_RECORDS = "hidden_records"
    ENDLESS_PAGES = "endless_pages"
    HUGE_BODY = "huge_body"
    SLOW_DRIP = "slow_drip"
    LOUD_ERRORS = "loud_errors"
    REFUSED_SUBMIT = "refused_submit"
    SWALLOWED_SUBMIT = "swallowed_submit"


@dataclass(slots=True)
class _Telling:
    params: dict[str, Any]
    answers: int | None  # lied answers left (None: no limit)
    until: float | None  # monotonic end (None: no limit)
    on_told: Callable[[], None] | None = None

    def over(self) -> bool:
        if self.answers is not None and self.answers <= 0:
            return True
        return self.until is not None and time.monotonic() >= self.until


@dataclass(slots=True)
class _Stats:
    told: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    bytes_sent: int = 0  # body bytes written to clients by huge_body / slow_drip answers
    disconnects: int = 0  # clients that hung up while such an answer was being written


class LyingProxy:
    """``async with LyingProxy(upstream) as proxy:`` — ``proxy.url`` is the endpoint to list."""

    def __init__(
        self, upstream: str, *, host: str = "127.0.0.1", base_path: str = "/", port: int = 0
    ) -> None:
        self.upstream = upstream if upstream.endswith("/") else upstream + "/"
        self._host = host
        self._port = port
        self._base = "/" + base_path.strip("/") + "/" if base_path.strip("/") else "/"
        self._lies: dict[Lie, _Telling] = {}
        self._stats = _Stats()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._writers: set[asyncio.Task[None]] = set()
        self.url = ""

    # ------------------------------------------------------------------ control

    def tell(
        self,
        lie: Lie,
        *,
        answers: int | None = None,
        for_seconds: float | None = None,
        on_told: Callable[[], None] | None = None,
        **params: Any,
    ) -> None:
        """Start telling ``lie`` (replacing the same lie's earlier telling) for ``answers`` lied
        answers or ``for_seconds`` of wall time (or until ``calm``)."""
        until = None if for_seconds is None else time.monotonic() + for_seconds
        self._lies[lie] = _Telling(
            params=dict(params), answers=answers, until=until, on_told=on_told
        )

    def calm(self, lie: Lie | None = None) -> None:
        """Stop telling ``lie`` (every lie when ``None``)."""
        if lie is None:
            self._lies.clear()
        else:
            self._lies.pop(lie, None)

    def telling(self, lie: Lie) -> bool:
        return self._active(lie) is not None

    @property
    def told(self) -> Mapping[str, int]:
        """Answers lied in, by lie."""
        return dict(self._stats.told)

    @property
    def lies_told(self) -> int:
        return sum(self._stats.told.values())

    @property
    def requests(self) -> int:
        return self._stats.requests

    @property
    def bytes_sent(self) -> int:
        return self._stats.bytes_sent

    @property
    def disconnects(self) -> int:
        return self._stats.disconnects

    def _active(self, lie: Lie) -> _Telling | None:
        telling = self._lies.get(lie)
        if telling is None:
            return None
        if telling.over():
            self._lies.pop(lie, None)
            return None
        return telling

    def _lied(self, lie: Lie) -> None:
        telling = self._lies.get(lie)
        if telling is not None and telling.answers is not None:
            telling.answers -= 1
        self._stats.told[lie.value] += 1
        if telling is not None and telling.on_told is not None:
            telling.on_told()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None), auto_decompress=False
        )
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        site = web.SockSite(runner, sock)
        await site.start()
        self._runner = runner
        port = sock.getsockname()[1]
        self.url = f"http://{self._host}:{port}{self._base}"

    async def stop(self) -> None:
        for task in list(self._writers):
            task.cancel()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def __aenter__(self) -> LyingProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ requests

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self._stats.requests += 1
        path = request.path
        if not path.startswith(self._base):
            return web.json_response({"message": "not found"}, status=404)
        tail = path[len(self._base) :]
        is_rpc = tail.startswith("rpc/")
        if is_rpc:
            for lie in (Lie.LOUD_ERRORS, Lie.HUGE_BODY, Lie.SLOW_DRIP):
                telling = self._active(lie)
                if telling is not None:
                    self._lied(lie)
                    return await self._answer_badly(request, lie, telling.params)
            refusal = self._active(Lie.REFUSED_SUBMIT)
            if refusal is not None and tail == "rpc/v3/transactions/submit":
                await request.read()
                self._lied(Lie.REFUSED_SUBMIT)
                message = refusal.params.get("message", "SEQUENCE_NUMBER_TOO_NEW: refused")
                return _json({"message": str(message)}, status=400)
            if _STORAGE.fullmatch(tail) and self._active(Lie.HIDDEN_RECORDS) is not None:
                await request.read()
                self._lied(Lie.HIDDEN_RECORDS)
                return _json({"message": "resource or table item not found"}, status=404)
            if self._is_status(request, tail) and self._active(Lie.HIDDEN_STATUS) is not None:
                self._lied(Lie.HIDDEN_STATUS)
                tx_hash = "0x" + tail.rsplit("/", 1)[1].lower().removeprefix("0x")
                return _json({"message": f"transaction {tx_hash} not found"}, status=404)
        body = await request.read()
        query: Mapping[str, str] = request.query
        if self._active(Lie.ENDLESS_PAGES) is not None and _PAGED.fullmatch(tail):
            # the forged cursors mean nothing upstream: it is asked for the first page again
            query = {k: v for k, v in request.query.items() if k != "start"}
        status, headers, content = await self._forward(request, tail, body, query)
        swallow = self._active(Lie.SWALLOWED_SUBMIT)
        if swallow is not None and tail == "rpc/v3/transactions/submit":
            self._lied(Lie.SWALLOWED_SUBMIT)
            await asyncio.sleep(float(swallow.params.get("hold", 30.0)))
        if is_rpc and status == 200:
            content = self._rewrite(request, tail, body, content, headers)
        response = web.Response(status=status, body=content)
        for name, value in headers.items():
            response.headers[name] = value
        return response

    async def _forward(
        self, request: web.Request, tail: str, body: bytes, query: Mapping[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        assert self._session is not None
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in _HOP_HEADERS and k.lower() != "host"
        }
        url = self.upstream + tail
        try:
            async with self._session.request(
                request.method,
                url,
                params=dict(query),
                data=body if body else None,
                headers=headers,
                allow_redirects=False,
            ) as upstream:
                content = await upstream.read()
                out = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS}
                return upstream.status, out, content
        except (TimeoutError, aiohttp.ClientError):
            # the upstream reset or broke the connection: so does the proxy
            transport = request.transport
            if transport is not None:
                transport.abort()
            raise web.HTTPBadGateway() from None

    @staticmethod
    def _is_status(request: web.Request, tail: str) -> bool:
        if request.method != "GET" or not tail.startswith("rpc/v3/transactions/"):
            return False
        return _HASH.fullmatch(tail.rsplit("/", 1)[1]) is not None

    def _rewrite(
        self,
        request: web.Request,
        tail: str,
        sent: bytes,
        content: bytes,
        headers: dict[str, str],
    ) -> bytes:
        try:
            body = json.loads(content)
        except ValueError:
            return content  # an upstream fault (cut short): passed on as it came
        lied: Lie | None = None
        if tail == "rpc/v3/block" and (t := self._active(Lie.TIME_AHEAD)) is not None:
            stamp = body["header"]["timestamp"]
            stamp["timestamp"] = int(stamp["timestamp"]) + int(t.params["seconds"] * 1_000_000)
            lied = Lie.TIME_AHEAD
        elif (
            request.method == "GET"
            and re.fullmatch(r"rpc/v3/accounts/[^/]+", tail)
            and (t := self._active(Lie.SEQUENCE_AHEAD)) is not None
        ):
            body["sequence_number"] = str(int(body["sequence_number"]) + int(t.params["by"]))
            lied = Lie.SEQUENCE_AHEAD
        elif (
            tail == "rpc/v3/transactions/simulate"
            and self._active(Lie.FORGED_SIMULATION) is not None
            and body.get("status") != "Success"
        ):
            body["status"] = "Success"
            output = body.get("output") or {}
            move = output.get("Move") or {}
            move["vm_status"] = "Executed successfully"
            move.setdefault("gas_used", 100)
            move.setdefault("events", [])
            body["output"] = {"Move": move}
            lied = Lie.FORGED_SIMULATION
        elif (
            tail == "rpc/v3/transactions/estimate_gas_price"
            and (t := self._active(Lie.INFLATED_GAS)) is not None
        ):
            price = int(t.params["price"])
            body = dict.fromkeys(body, price)
            lied = Lie.INFLATED_GAS
        elif (t := self._active(Lie.ENDLESS_PAGES)) is not None and self._endless(
            request, tail, sent, body, headers, t.params
        ):
            lied = Lie.ENDLESS_PAGES
        if lied is None:
            return content
        self._lied(lied)
        return json.dumps(body).encode()

    def _endless(
        self,
        request: web.Request,
        tail: str,
        sent: bytes,
        body: Any,
        headers: dict[str, str],
        params: Mapping[str, Any],
    ) -> bool:
        """Make a page full and give it a next cursor; True if this answer was a page."""
        mode = params.get("mode", "advance")
        if tail == "rpc/v3/view":
            try:
                asked = json.loads(sent)
                function = str(asked["function"]).rsplit("::", 1)[1]
                position = _LIST_VIEWS.get(function)
                if position is None:
                    return False
                limit = min(int(asked["arguments"][position - 1]), 1000)
            except (ValueError, KeyError, IndexError, TypeError):
                return False
            start = int(time.monotonic_ns() % 1_000_000_000)
            body["result"] = [[str(start + i) for i in range(limit)]]
            return True
        cursor = request.query.get("start") or ""
        if tail.startswith("rpc/v3/events/") and isinstance(body, dict):
            events = body.get("data")
            if not isinstance(events, list) or not events:
                return False
            limit = int(request.query.get("limit", "100"))
            body["data"] = (events * (limit // len(events) + 1))[:limit]
        elif re.fullmatch(r"rpc/v3/accounts/[^/]+/resources", tail) and isinstance(body, list):
            if not body:
                return False
        else:
            return False
        next_cursor = cursor if mode == "repeat" and cursor else str(time.monotonic_ns())
        headers["x-supra-cursor"] = next_cursor
        return True

    async def _answer_badly(
        self, request: web.Request, lie: Lie, params: Mapping[str, Any]
    ) -> web.StreamResponse:
        if lie is Lie.LOUD_ERRORS:
            return _json({"message": str(params.get("text", ""))}, status=500)
        upstream_chain_id = await self._chain_id()
        response = web.StreamResponse(status=200)
        response.content_type = "application/json"
        response.headers["x-supra-chain-id"] = upstream_chain_id
        await response.prepare(request)
        task = asyncio.current_task()
        assert task is not None
        self._writers.add(task)
        try:
            if lie is Lie.HUGE_BODY:
                size = int(params["size"])
                chunk = b"[" + b" " * (64 * 1024 - 1)
                sent = 0
                while sent < size:
                    piece = chunk[: size - sent] if sent else chunk
                    await response.write(piece)
                    sent += len(piece)
                    self._stats.bytes_sent += len(piece)
                    chunk = b" " * (64 * 1024)
                await response.write(b"]")
            else:
                every = float(params.get("every", 2.0))
                await response.write(b"[")
                self._stats.bytes_sent += 1
                while True:
                    await asyncio.sleep(every)
                    await response.write(b" ")
                    self._stats.bytes_sent += 1
        except (ConnectionError, asyncio.CancelledError):
            self._stats.disconnects += 1
            return response
        finally:
            self._writers.discard(task)
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
        return response

    async def _chain_id(self) -> str:
        assert self._session is not None
        try:
            async with self._session.get(self.upstream + "rpc/v3/transactions/chain_id") as reply:
                return reply.headers.get("x-supra-chain-id", "")
        except aiohttp.ClientError:
            return ""


def _json(body: object, *, status: int) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")
