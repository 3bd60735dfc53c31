"""HTTP to the node: the one place where httpx and SDK transport errors become autobot errors.

The SDK's ``SupraClient`` is kept as the HTTP client (its ``ApiClient`` adds the ``x-supra-client``
header and joins URLs), but its convenience methods are not used for requests: they raise a bare
``ApiError`` for any non-200 and hide the response headers, which autobot needs
(``x-supra-chain-id`` on every response, ``x-supra-cursor`` for events, ``Retry-After`` on 429).
So requests go through ``ApiClient.get/post(..., strict_mode=False)``, which return the
``httpx.Response``, and this module reads status and headers itself. The SDK's fixed 60 s
timeout is replaced by the configured one; base URLs get their trailing slash (``urljoin``
drops a path prefix without it).

Translation:

==================================  =========================================================
httpx timeout                       ``RpcTimeout``
connection refused/reset, other     ``RpcUnavailable``
transport errors, HTTP 5xx
HTTP 429                            ``RpcRateLimited`` (``retry_after`` from ``Retry-After``)
``x-supra-chain-id`` ≠ configured   ``ChainMismatch`` (also when a 200 lacks the header)
HTTP 4xx ``SEQUENCE_NUMBER_*``      ``SequenceRace``
HTTP 4xx with a Move abort message  ``MoveAbort`` (a view that aborted)
HTTP 410                            ``EventsPruned`` (``oldest_block`` from its header)
other HTTP 4xx                      ``RpcRejected``
HTTP 4xx whose body is no ErrResp   ``RpcProtocolError`` (garbled: asked again, counted)
anything else unexpected            ``RpcProtocolError``
==================================  =========================================================

Failover (``EndpointPool``, ``chain/endpoints.py``): each request goes to the pool's first
candidate; after a transport-level failure (timeout, connection error, 5xx, 429, a malformed
answer, another chain's id) it moves to the next endpoint not yet tried, and once every
candidate was tried it may ask again, after a short backoff, up to ``max_attempts`` attempts in
all — but an endpoint that timed out is asked again only when no other is left, and then once
(a hung endpoint would multiply the wait), and a ``Retry-After`` is waited out only up to
``MAX_RETRY_AFTER_SECONDS``. A submit is a request
like the others: sent to one endpoint, re-sent (the same signed bytes) elsewhere only after such
a failure. That is safe: a sequence number executes at most once, and a second endpoint answers
with the hash or a ``SequenceRace``.

``fetch`` runs the caller's ``decode`` inside the attempt, so an answer that does not decode
(``RpcProtocolError``) counts against the endpoint and fails over too; ``decode`` may also raise
``StaleAnswer`` (a lagging endpoint, or one whose clock runs ahead: ``ClockAhead``) to try the next
one. ``second_opinion`` statuses (a 404 for a transaction hash or a stored record) are checked
with another endpoint. With three or more, such an answer is believed only when a second endpoint
answers the same (another status from it wins): the others are asked with the request's failover
and retries (cooling ones too), and when none of them answers the read fails (``RpcUnavailable``,
retried by the caller): a lone liar's 404 would otherwise make a stored record "absent", and a
step reading it park its action (the byzantine soak: a liar among three endpoints whose peers
cooled down now and then under 20 % faults). Two endpoints of three down stall such reads. With two,
the other is asked once if it is healthy, and the answer believed when it cannot say (a dead or
flaky peer must not fail every read); with one, it is believed.

**Bounded reads.** Every attempt has one deadline for the whole exchange (connect, headers and
every byte of the body: a node that drips a byte at a time cannot hold a request past
``timeout``), and the body is read as it streams, never past ``MAX_BODY_BYTES`` (a node that sends
gigabytes is cut off at the limit, not buffered first). Either counts against the endpoint like
any transport failure (``RpcTimeout``; ``RpcProtocolError``). Paginated reads bound their pages
and check that each cursor moves on (``chain/pages.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx
from supra_sdk.clients.rest.supra_client import SupraClient, SupraClientConfig

from autobot.chain.endpoints import Endpoint, EndpointPool, HealthPolicy, Outcome, RpcObserver
from autobot.chain.pacing import Pace, is_paced, limited
from autobot.chain.responses import (
    MAX_BODY_BYTES,
    abort_from_vm_status,
    error_message,
    parse_json,
)
from autobot.chain.transport import pooled_transport
from autobot.errors import (
    AutobotError,
    ChainMismatch,
    ClockAhead,
    EventsPruned,
    RpcProtocolError,
    RpcRateLimited,
    RpcRejected,
    RpcTimeout,
    RpcUnavailable,
    SequenceRace,
    StaleAnswer,
)

__all__ = [
    "BCS_CONTENT_TYPE",
    "MAX_RETRY_AFTER_SECONDS",
    "Reply",
    "RpcClient",
    "parse_retry_after",
]

BCS_CONTENT_TYPE = "application/x.supra.signed_transaction+bcs"
CHAIN_ID_HEADER = "x-supra-chain-id"

_SEQUENCE = re.compile(
    r"SEQUENCE_NUMBER_(TOO_OLD|TOO_NEW|ALREADY_PENDING)|sequence number (is )?too (old|new)",
    re.IGNORECASE,
)
MAX_RETRY_AFTER_SECONDS = 2.0
"""Longest ``Retry-After`` waited out inside one request; a longer one is the caller's to wait."""
DEFAULT_MAX_ATTEMPTS = 4
SECOND_ANSWER_GRACE_SECONDS = 0.5
"""``each_healthy``: how long the other endpoints may take once one has answered."""
_BACKOFF_SECONDS = 0.05
_MAX_BACKOFF_SECONDS = 0.5


def _outcome(exc: Exception) -> Outcome:
    if isinstance(exc, RpcTimeout):
        return Outcome.TIMEOUT
    if isinstance(exc, RpcRateLimited):
        return Outcome.RATE_LIMITED
    if isinstance(exc, RpcProtocolError):
        return Outcome.PROTOCOL_ERROR
    return Outcome.UNAVAILABLE


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; ``None`` if absent or garbage."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit() and len(text) <= 9:
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    delay = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, delay) if math.isfinite(delay) else None


@dataclass(frozen=True, slots=True)
class Reply:
    """A response that passed the chain-id check and had an accepted status (header names
    lower-cased)."""

    status: int
    content: bytes
    headers: Mapping[str, str]
    url: str
    endpoint: Endpoint | None = None

    def json(self, what: str) -> object:
        return parse_json(self.content, what)


class RpcClient:
    """Requests to the node over the configured endpoints, with typed errors and failover."""

    def __init__(
        self,
        *,
        urls: Sequence[str],
        chain_id: int,
        timeout: float,
        pool: EndpointPool | None = None,
        observer: RpcObserver | None = None,
        policy: HealthPolicy | None = None,
        max_attempts: int | None = None,
        pace: Pace | None = None,
    ) -> None:
        """``pace`` is awaited before each request made outside ``pacing.unpaced()`` (more
        urgent work first: ``chain/pacing.py``)."""
        self.chain_id = chain_id
        self.pace = pace
        self.timeout = timeout
        self.pool = (
            pool
            if pool is not None
            else EndpointPool([self._endpoint(u) for u in urls], policy=policy, observer=observer)
        )
        n = len(self.pool.endpoints)
        self.max_attempts = max(n, DEFAULT_MAX_ATTEMPTS) if max_attempts is None else max_attempts
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def _endpoint(self, url: str) -> Endpoint:
        base = url if url.endswith("/") else url + "/"
        client = SupraClient(base, SupraClientConfig(wait_for_transaction=False))
        client.api_client._client.timeout = httpx.Timeout(self.timeout)
        client.api_client._client._transport = pooled_transport()  # see chain/transport.py
        return Endpoint(url=base, client=client)

    async def aclose(self) -> None:
        await self.pool.aclose()

    def limited(self, limit: asyncio.Semaphore) -> contextlib.AbstractAsyncContextManager[None]:
        """A slot of ``limit`` (a concurrency limit over these requests), taken after giving
        way; the requests made holding it go at once."""
        return limited(limit, self.pace)

    async def get(
        self,
        path: str,
        *,
        what: str,
        params: Mapping[str, Any] | None = None,
        accept: frozenset[int] = frozenset({200}),
    ) -> Reply:
        return await self.fetch("GET", path, what=what, decode=_same, params=params, accept=accept)

    async def post(
        self,
        path: str,
        *,
        what: str,
        json_body: Mapping[str, Any] | None = None,
        bcs: bytes | None = None,
        accept: frozenset[int] = frozenset({200}),
    ) -> Reply:
        return await self.fetch(
            "POST", path, what=what, decode=_same, json_body=json_body, bcs=bcs, accept=accept
        )

    async def fetch[T](
        self,
        method: str,
        path: str,
        *,
        what: str,
        decode: Callable[[Reply], T],
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        bcs: bytes | None = None,
        accept: frozenset[int] = frozenset({200}),
        second_opinion: frozenset[int] = frozenset(),
        only: Endpoint | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> T:
        """One request with failover; ``decode(reply)`` runs inside each attempt.

        ``only`` pins the request to one endpoint (one attempt, no failover); ``headers`` are
        sent as given (``Accept: application/x-bcs`` for a resource in BCS).
        """
        if self.pace is not None and is_paced():
            await self.pace()
        send = _sender(method, path, params=params, json_body=json_body, bcs=bcs, headers=headers)
        if only is not None:
            return (await self._attempt(only, send, decode, what=what, accept=accept))[1]
        tried: list[Endpoint] = []
        errors: dict[Endpoint, Exception] = {}
        last: Exception | None = None
        doubted: Endpoint | None = None  # gave a second-opinion status: another must confirm it
        doubt: tuple[int, T] | None = None
        for attempt in range(self.max_attempts):
            # Not re-asked within one request: an endpoint that lagged (asking again does not
            # make it current), or that timed out while another one is left to ask (a hung
            # endpoint would multiply the wait; a lone one gets one more chance).
            candidates = [
                e for e in self.pool.candidates() if not isinstance(errors.get(e), StaleAnswer)
            ]
            if doubted is not None:  # to confirm: the others (cooling ones too, after a pause)
                candidates = [e for e in candidates if e is not doubted]
            untimed = [e for e in candidates if not isinstance(errors.get(e), RpcTimeout)]
            candidates = untimed or [e for e in candidates if tried.count(e) < 2]
            if not candidates:
                if last is None and doubt is None:
                    raise RpcUnavailable(f"{what}: no usable RPC endpoint (all disabled)")
                break
            fresh = [e for e in candidates if e not in tried]
            endpoint = fresh[0] if fresh else candidates[0]
            if not fresh:  # every candidate had its chance: ask the best again after a pause
                pause = _pause(attempt, errors.get(endpoint))
                if pause is None:
                    break
                await asyncio.sleep(pause)
            tried.append(endpoint)
            try:
                reply, result = await self._attempt(
                    endpoint, send, decode, what=what, accept=accept
                )
            except _FAILOVER as exc:
                errors[endpoint] = last = exc
                continue
            if reply.status in second_opinion and doubt is None:
                if len(self.pool.usable()) < 3:  # alone, or one peer: one try to confirm
                    return await self._confirm(
                        result, reply.status, tried, send, decode, what=what, accept=accept
                    )
                doubted, doubt = endpoint, (reply.status, result)
                continue  # ask the others, failing over and retrying as for an error
            return result  # an answer, or the doubted status confirmed by a second endpoint
        if doubt is not None:
            assert doubted is not None
            raise RpcUnavailable(
                f"{what}: HTTP {doubt[0]} from {doubted.label} and no other endpoint to confirm "
                f"it ({last or 'none answered'})"
            )
        assert last is not None
        raise last

    async def _confirm[T](
        self,
        result: T,
        status: int,
        tried: Sequence[Endpoint],
        send: Callable[[Any], Awaitable[Any]],
        decode: Callable[[Reply], T],
        *,
        what: str,
        accept: frozenset[int],
    ) -> T:
        """``result`` came with a status worth double-checking: ask one other healthy endpoint."""
        others = [e for e in self.pool.healthy() if e not in tried]
        if not others:
            return result
        try:
            reply, second = await self._attempt(others[0], send, decode, what=what, accept=accept)
        except AutobotError:
            return result
        return result if reply.status == status else second

    async def each_healthy[T](
        self,
        method: str,
        path: str,
        *,
        what: str,
        decode: Callable[[Reply], T],
        accept: frozenset[int] = frozenset({200}),
    ) -> list[T]:
        """Ask every healthy endpoint at once; the decoded answers of those that answered.

        After the first answer the others get ``SECOND_ANSWER_GRACE_SECONDS`` (a hung endpoint
        must not hold the read up for a whole timeout). Falls back to one ordinary request (with
        failover) when fewer than two are healthy or none answered; an error answer on purpose
        (a 4xx) is raised.
        """
        healthy = self.pool.healthy()
        if len(healthy) >= 2:
            answers = await self._ask_each(
                healthy, method, path, what=what, decode=decode, accept=accept
            )
            if answers:
                return [result for _, result in answers]
        return [await self.fetch(method, path, what=what, decode=decode, accept=accept)]

    async def each_endpoint[T](
        self,
        method: str,
        path: str,
        *,
        what: str,
        decode: Callable[[Reply], T],
        accept: frozenset[int] = frozenset({200}),
    ) -> list[tuple[Endpoint, T]]:
        """Ask every usable endpoint (lagging, quarantined and cooling ones too) at once: each
        answer with the endpoint that gave it (those that did not answer in time are left out;
        the same grace as ``each_healthy``). For a decision that needs every voice (the
        clock's quorum); raises the last error when none answered."""
        usable = self.pool.usable()
        if not usable:
            raise RpcUnavailable(f"{what}: no usable RPC endpoint (all disabled)")
        answers = await self._ask_each(
            usable, method, path, what=what, decode=decode, accept=accept
        )
        if not answers:
            raise RpcUnavailable(f"{what}: no endpoint answered")
        return answers

    async def _ask_each[T](
        self,
        endpoints: Sequence[Endpoint],
        method: str,
        path: str,
        *,
        what: str,
        decode: Callable[[Reply], T],
        accept: frozenset[int],
    ) -> list[tuple[Endpoint, T]]:
        loop = asyncio.get_running_loop()
        pending = {
            asyncio.ensure_future(
                self.fetch(method, path, what=what, decode=decode, accept=accept, only=e)
            ): e
            for e in endpoints
        }
        answers: list[tuple[Endpoint, T]] = []
        deadline: float | None = None
        try:
            while pending:
                wait = None if deadline is None else max(0.0, deadline - loop.time())
                done, _ = await asyncio.wait(
                    pending, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                )
                if not done:
                    break  # the grace is over
                for task in done:
                    endpoint = pending.pop(task)
                    error = task.exception()
                    if error is None:
                        answers.append((endpoint, task.result()))
                    elif not isinstance(error, _FAILOVER):
                        raise error
                if answers and deadline is None:
                    deadline = loop.time() + SECOND_ANSWER_GRACE_SECONDS
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        return answers

    async def _attempt[T](
        self,
        endpoint: Endpoint,
        send: Callable[[Any], Awaitable[Any]],
        decode: Callable[[Reply], T],
        *,
        what: str,
        accept: frozenset[int],
    ) -> tuple[Reply, T]:
        """One attempt on ``endpoint``, reported to the pool; raises the translated error."""
        started = time.monotonic()
        try:
            reply = await self._once(endpoint, send, what=what, accept=accept)
            result = decode(reply)
        except ChainMismatch as exc:
            self.pool.disable(endpoint, str(exc), time.monotonic() - started)
            raise
        except ClockAhead as exc:
            self.pool.ran_ahead(endpoint, exc, time.monotonic() - started)
            raise
        except StaleAnswer:
            self.pool.lagged(endpoint, time.monotonic() - started)
            raise
        except (RpcTimeout, RpcUnavailable, RpcRateLimited, RpcProtocolError) as exc:
            self.pool.failed(endpoint, exc, time.monotonic() - started, outcome=_outcome(exc))
            raise
        except AutobotError:  # an answer on purpose (a Move abort, a sequence refusal, a 4xx)
            self.pool.succeeded(endpoint, time.monotonic() - started)
            raise
        self.pool.succeeded(endpoint, time.monotonic() - started)
        return reply, result

    async def _once(
        self,
        endpoint: Endpoint,
        send: Callable[[Any], Awaitable[_Raw]],
        *,
        what: str,
        accept: frozenset[int],
    ) -> Reply:
        url = endpoint.url
        try:
            async with asyncio.timeout(self.timeout):  # the whole exchange, body included
                raw = await send(endpoint.client.api_client)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise RpcTimeout(f"{what}: {url} did not answer within {self.timeout}s") from exc
        except _BodyTooLarge as exc:
            raise RpcProtocolError(
                f"{what}: {url} sent a body over {MAX_BODY_BYTES} bytes (cut off)"
            ) from exc
        except httpx.HTTPError as exc:
            raise RpcUnavailable(f"{what}: {url}: {type(exc).__name__}") from exc
        if not isinstance(raw, _Raw):
            raise RpcProtocolError(f"{what}: the HTTP client returned {type(raw).__name__}")
        status = raw.status
        headers = raw.headers
        content = raw.content
        self._check_chain(headers.get(CHAIN_ID_HEADER), url, required=status == 200)
        if status in accept:
            lowered = {k.lower(): v for k, v in headers.items()}
            return Reply(
                status=status, content=content, headers=lowered, url=url, endpoint=endpoint
            )
        raise _status_error(status, content, headers, what=what, url=url)

    def _check_chain(self, header: str | None, url: str, *, required: bool) -> None:
        if header is None and not required:
            return
        if header is None or header.strip() != str(self.chain_id):
            raise ChainMismatch(
                expected=self.chain_id, got=None if header is None else header[:20], url=url
            )


_FAILOVER = (
    RpcTimeout,
    RpcUnavailable,
    RpcRateLimited,
    RpcProtocolError,
    ChainMismatch,
    StaleAnswer,
)


def _same(reply: Reply) -> Reply:
    return reply


def _pause(attempt: int, error: Exception | None) -> float | None:
    """How long to wait before asking an endpoint again; None: give up now."""
    if isinstance(error, RpcRateLimited) and error.retry_after is not None:
        wait: float = error.retry_after
        return wait if wait <= MAX_RETRY_AFTER_SECONDS else None
    return min(_MAX_BACKOFF_SECONDS, _BACKOFF_SECONDS * 2.0 ** max(0, attempt - 1))


class _BodyTooLarge(Exception):
    """A body went past ``MAX_BODY_BYTES`` while it streamed (caught in ``_once``)."""


@dataclass(frozen=True, slots=True)
class _Raw:
    """A response read within the limits: status, headers, body."""

    status: int
    headers: httpx.Headers
    content: bytes


async def _read_bounded(response: httpx.Response) -> bytes:
    """The body, read as it streams; ``_BodyTooLarge`` past ``MAX_BODY_BYTES``."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _BodyTooLarge(declared)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _BodyTooLarge(size)
        chunks.append(chunk)
    return b"".join(chunks)


def _sender(
    method: str,
    path: str,
    *,
    params: Mapping[str, Any] | None,
    json_body: Mapping[str, Any] | None,
    bcs: bytes | None,
    headers: Mapping[str, str] | None = None,
) -> Callable[[Any], Awaitable[_Raw]]:
    """One attempt's request through the SDK's ``ApiClient`` (its base URL, headers and timeouts,
    with ``headers`` on top), the body streamed within the limits (``_read_bounded``).

    The request goes straight to the client's transport (``chain/transport.py``'s pool, or the
    proxy the environment names for the URL): what ``AsyncClient.send`` adds on the way — cookie
    jars, auth flows, redirects, event hooks — is nothing a node's RPC uses (a node's redirect is
    refused as any other 3xx: ``_status_error``), and cost about a third of a request's CPU."""

    async def send(api: Any) -> _Raw:
        client: httpx.AsyncClient = api._client  # the SDK client: its headers and timeouts
        if client.is_closed:  # as ``AsyncClient.send`` refuses (its pool would open anew)
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        merged = httpx.Headers(client.headers)
        content: bytes | None = None
        if method == "POST":
            if bcs is not None:
                merged["Content-Type"] = BCS_CONTENT_TYPE
                content = bcs
            else:
                merged["Content-Type"] = "application/json"
                content = json.dumps(dict(json_body or {})).encode()
        merged.update(headers or {})
        request = httpx.Request(
            method,
            urljoin(api.base_url, path),
            params={k: v for k, v in (params or {}).items() if v is not None},
            headers=merged,
            content=content,
            extensions={"timeout": client.timeout.as_dict()},
        )
        response = await client._transport_for_url(request.url).handle_async_request(request)
        try:
            body = await _read_bounded(response)
        finally:
            await response.aclose()
        return _Raw(status=response.status_code, headers=response.headers, content=body)

    return send


def _is_err_resp(content: bytes) -> bool:
    """Is ``content`` the node's ``ErrResp`` (a JSON object with a string ``message``)?"""
    if len(content) > MAX_BODY_BYTES:
        return False
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        return False
    return isinstance(body, dict) and isinstance(body.get("message"), str)


def _status_error(
    status: int, content: bytes, headers: httpx.Headers, *, what: str, url: str
) -> AutobotError:
    message = error_message(content)
    if status == 429:
        return RpcRateLimited(
            f"{what}: {url} rate-limited the request",
            retry_after=parse_retry_after(headers.get("retry-after")),
        )
    if 500 <= status <= 599:
        return RpcUnavailable(f"{what}: HTTP {status} from {url}: {message}", status=status)
    if 400 <= status <= 499:
        if not _is_err_resp(content):
            # Not the node's ErrResp: a garbled answer (cut short on the way, a proxy's page),
            # so the refusal cannot be read; it counts against the endpoint and is asked again.
            return RpcProtocolError(f"{what}: HTTP {status} from {url} without an ErrResp body")
        if _SEQUENCE.search(message):
            return SequenceRace(f"{what}: {message}")
        abort = abort_from_vm_status(message)
        if abort is not None:
            return abort
        if status == 410:
            oldest = headers.get("x-supra-oldest-block", "")
            return EventsPruned(
                f"{what}: {message}",
                oldest_block=int(oldest) if oldest.isdigit() and len(oldest) <= 20 else None,
            )
        return RpcRejected(f"{what}: HTTP {status}: {message}", status=status)
    return RpcProtocolError(f"{what}: unexpected HTTP {status} from {url}")
