"""Which RPC endpoint to ask next: the seam where endpoint scoring will live.

For now the policy is "sticky first healthy": requests go to the current endpoint (initially the
first configured one); a transient failure there moves the current endpoint to the next one in
configuration order, and the request is retried there. An endpoint that serves another chain
(``ChainMismatch``) is disabled for the life of the process: it is misconfigured, not flaky.

The pool knows nothing about HTTP: ``RpcClient`` (``chain/rpc.py``) reports outcomes to it, and a
smarter pool (latency and error scoring, probation) can replace this one behind the same methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog

__all__ = ["Endpoint", "EndpointPool"]

log = structlog.get_logger(__name__)


@dataclass(slots=True, eq=False)
class Endpoint:
    """One configured RPC base URL and the SDK client that talks to it."""

    url: str
    client: Any
    consecutive_failures: int = 0
    total_failures: int = 0
    disabled_reason: str | None = None

    @property
    def usable(self) -> bool:
        return self.disabled_reason is None


class EndpointPool:
    """Orders endpoints for each request and learns from the outcome."""

    def __init__(self, endpoints: Sequence[Endpoint]) -> None:
        if not endpoints:
            raise ValueError("at least one RPC endpoint is required")
        self._endpoints = list(endpoints)
        self._current = 0

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        return tuple(self._endpoints)

    @property
    def current(self) -> Endpoint:
        return self._endpoints[self._current]

    def candidates(self) -> list[Endpoint]:
        """Usable endpoints, the current one first, then the others in configuration order."""
        n = len(self._endpoints)
        ordered = [self._endpoints[(self._current + i) % n] for i in range(n)]
        return [e for e in ordered if e.usable]

    def succeeded(self, endpoint: Endpoint) -> None:
        endpoint.consecutive_failures = 0

    def failed(self, endpoint: Endpoint, error: Exception) -> None:
        """A transient failure: if it was the current endpoint, move on to the next usable one."""
        endpoint.consecutive_failures += 1
        endpoint.total_failures += 1
        if endpoint is self.current:
            self._advance()
            log.warning(
                "rpc_endpoint_failover",
                failed=endpoint.url,
                now_using=self.current.url,
                error=type(error).__name__,
            )

    def disable(self, endpoint: Endpoint, reason: str) -> None:
        """Stop using ``endpoint`` for good (it serves another chain)."""
        if endpoint.disabled_reason is None:
            endpoint.disabled_reason = reason
            log.error("rpc_endpoint_disabled", url=endpoint.url, reason=reason)
        if endpoint is self.current:
            self._advance()

    def _advance(self) -> None:
        n = len(self._endpoints)
        for step in range(1, n + 1):
            index = (self._current + step) % n
            if self._endpoints[index].usable:
                self._current = index
                return

    async def aclose(self) -> None:
        """Close every endpoint's client (each is closed even if another fails)."""
        errors: list[BaseException] = []
        for endpoint in self._endpoints:
            try:
                await endpoint.client.close()
            except Exception as exc:  # close errors must not leak the other clients
                errors.append(exc)
        if errors:
            raise errors[0]
