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
anything else unexpected            ``RpcProtocolError``
==================================  =========================================================

Failover (``EndpointPool``): timeouts, unavailability, rate limits and chain mismatches move the
request to the next endpoint. Submitting the same signed bytes twice is safe: a sequence number
executes at most once, and the second endpoint answers with the hash or a ``SequenceRace``.
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from supra_sdk.clients.rest.supra_client import SupraClient, SupraClientConfig

from autobot.chain.endpoints import Endpoint, EndpointPool
from autobot.chain.responses import abort_from_vm_status, error_message, parse_json
from autobot.errors import (
    AutobotError,
    ChainMismatch,
    EventsPruned,
    RpcProtocolError,
    RpcRateLimited,
    RpcRejected,
    RpcTimeout,
    RpcUnavailable,
    SequenceRace,
)

__all__ = ["BCS_CONTENT_TYPE", "Reply", "RpcClient", "parse_retry_after"]

BCS_CONTENT_TYPE = "application/x.supra.signed_transaction+bcs"
CHAIN_ID_HEADER = "x-supra-chain-id"

_SEQUENCE = re.compile(
    r"SEQUENCE_NUMBER_(TOO_OLD|TOO_NEW|ALREADY_PENDING)|sequence number (is )?too (old|new)",
    re.IGNORECASE,
)
_FAILOVER = (RpcTimeout, RpcUnavailable, RpcRateLimited, ChainMismatch)


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
    ) -> None:
        self.chain_id = chain_id
        self.timeout = timeout
        self.pool = pool if pool is not None else EndpointPool([self._endpoint(u) for u in urls])

    def _endpoint(self, url: str) -> Endpoint:
        base = url if url.endswith("/") else url + "/"
        client = SupraClient(base, SupraClientConfig(wait_for_transaction=False))
        client.api_client._client.timeout = httpx.Timeout(self.timeout)
        return Endpoint(url=base, client=client)

    async def aclose(self) -> None:
        await self.pool.aclose()

    async def get(
        self,
        path: str,
        *,
        what: str,
        params: Mapping[str, Any] | None = None,
        accept: frozenset[int] = frozenset({200}),
    ) -> Reply:
        async def send(api: Any) -> Any:
            return await api.get(path, params=dict(params or {}), strict_mode=False)

        return await self._request(send, what=what, accept=accept)

    async def post(
        self,
        path: str,
        *,
        what: str,
        json_body: Mapping[str, Any] | None = None,
        bcs: bytes | None = None,
        accept: frozenset[int] = frozenset({200}),
    ) -> Reply:
        async def send(api: Any) -> Any:
            if bcs is not None:
                return await api.post(
                    path, data=bcs, headers={"Content-Type": BCS_CONTENT_TYPE}, strict_mode=False
                )
            return await api.post(path, data=dict(json_body or {}), strict_mode=False)

        return await self._request(send, what=what, accept=accept)

    async def _request(self, send: Any, *, what: str, accept: frozenset[int]) -> Reply:
        candidates = self.pool.candidates()
        if not candidates:
            raise RpcUnavailable(f"{what}: no usable RPC endpoint (all disabled)")
        last: AutobotError | None = None
        for endpoint in candidates:
            try:
                reply = await self._once(endpoint, send, what=what, accept=accept)
            except ChainMismatch as exc:
                self.pool.disable(endpoint, str(exc))
                last = exc
                continue
            except _FAILOVER as exc:
                self.pool.failed(endpoint, exc)
                last = exc
                continue
            self.pool.succeeded(endpoint)
            return reply
        assert last is not None
        raise last

    async def _once(
        self, endpoint: Endpoint, send: Any, *, what: str, accept: frozenset[int]
    ) -> Reply:
        url = endpoint.url
        try:
            response = await send(endpoint.client.api_client)
        except httpx.TimeoutException as exc:
            raise RpcTimeout(f"{what}: {url} did not answer within {self.timeout}s") from exc
        except httpx.HTTPError as exc:
            raise RpcUnavailable(f"{what}: {url}: {type(exc).__name__}") from exc
        if not isinstance(response, httpx.Response):
            raise RpcProtocolError(f"{what}: the HTTP client returned {type(response).__name__}")
        status = response.status_code
        headers = response.headers
        content = response.content
        self._check_chain(headers.get(CHAIN_ID_HEADER), url, required=status == 200)
        if status in accept:
            lowered = {k.lower(): v for k, v in headers.items()}
            return Reply(status=status, content=content, headers=lowered, url=url)
        raise _status_error(status, content, headers, what=what, url=url)

    def _check_chain(self, header: str | None, url: str, *, required: bool) -> None:
        if header is None and not required:
            return
        if header is None or header.strip() != str(self.chain_id):
            raise ChainMismatch(
                expected=self.chain_id, got=None if header is None else header[:20], url=url
            )


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
