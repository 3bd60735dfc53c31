"""The localnet's HTTP server (aiohttp): the Supra RPC v3 subset and the dev-only ``/localnet/v1``.

RPC endpoints answer in the node's own shapes (OpenAPI tag supra_rpc_v11.5.2); every response,
errors included, carries ``x-supra-chain-id``; every error body is ``ErrResp`` ``{"message"}``
(400 for a refused request, 404 for an unknown hash or route, 405, 500).

Dev endpoints (never under ``/rpc/``):

* ``GET /localnet/v1/info`` → ``LocalnetInfo`` JSON (chain id, package, time scale, chain time,
  height, VRF retry variant, rpc_url, the well-known dev accounts);
* ``POST /localnet/v1/advance`` ``{"seconds": N}`` (1 ≤ N ≤ 10 years) → moves chain time forward and
  produces a block at once; answers ``{"chain_time", "block_height"}``;
* ``GET /localnet/v1/transactions/{hash}`` → ``{hash, kind, status, block_height, accepted_wall,
  executed_wall}`` (host wall seconds; for benchmarks).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from autobot.localnet.accounts import normalise_address
from autobot.localnet.admission import MIN_GAS_UNIT_PRICE, RejectCode, Rejected
from autobot.localnet.node import EVENTS_PAGE_MAX, LocalNode, MoveAborted

__all__ = ["BCS_SIGNED_TRANSACTION", "MAX_ADVANCE_SECONDS", "build_app"]

log = structlog.get_logger()

BCS_SIGNED_TRANSACTION = "application/x.supra.signed_transaction+bcs"
MAX_ADVANCE_SECONDS = 10 * 366 * 86_400
_HASH = re.compile(r"(0x)?[0-9a-fA-F]{64}")
_NODE_KEY: web.AppKey[LocalNode] = web.AppKey("node", LocalNode)
_URL_KEY: web.AppKey[str] = web.AppKey("rpc_url", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Rejected as exc:
        return _error(400, str(exc))
    except MoveAborted as exc:
        return _error(400, exc.vm_status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error(
            exc.status, exc.reason if exc.text is None else exc.text.removeprefix(f"{exc.status}: ")
        )
    except Exception:
        log.exception("localnet_request_failed", path=request.path)
        return _error(500, "internal error")


def _node(request: web.Request) -> LocalNode:
    return request.app[_NODE_KEY]


def _int_query(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise web.HTTPBadRequest(
            text=f"query parameter {name} must be a non-negative integer, got {raw!r}"
        )
    return int(raw)


async def _chain_id(request: web.Request) -> web.Response:
    return web.json_response(_node(request).chain_id)


async def _account(request: web.Request) -> web.Response:
    raw = request.match_info["address"]
    try:
        address = normalise_address(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"invalid account address {raw!r}") from None
    node = _node(request)
    # Every address exists on the localnet (like anvil's): unknown ones are at sequence number 0.
    return web.json_response(
        {"sequence_number": node.sequence_number(address), "authentication_key": address}
    )


async def _gas_price(request: web.Request) -> web.Response:
    price = MIN_GAS_UNIT_PRICE
    return web.json_response(
        {
            "mean_gas_price": price,
            "max_gas_price": price,
            "median_gas_price": price,
            "min_configured_gas_price": price,
        }
    )


async def _bcs_body(request: web.Request) -> bytes:
    if request.content_type != BCS_SIGNED_TRANSACTION:
        raise Rejected(
            RejectCode.UNSUPPORTED_CONTENT_TYPE,
            f"the localnet accepts BCS transactions only (Content-Type: {BCS_SIGNED_TRANSACTION}), "
            f"got {request.content_type!r}",
        )
    return await request.read()


async def _submit(request: web.Request) -> web.Response:
    body = await _bcs_body(request)
    return web.json_response(_node(request).submit(body))


async def _simulate(request: web.Request) -> web.Response:
    body = await _bcs_body(request)
    return web.json_response(_node(request).simulate(body))


def _hash_param(request: web.Request) -> str:
    raw = request.match_info["hash"]
    if _HASH.fullmatch(raw) is None:
        raise web.HTTPBadRequest(text=f"invalid transaction hash {raw!r}")
    return "0x" + raw.lower().removeprefix("0x")


async def _transaction(request: web.Request) -> web.Response:
    tx_hash = _hash_param(request)
    body = _node(request).transaction_json(tx_hash)
    if body is None:
        raise web.HTTPNotFound(text=f"transaction {tx_hash} not found")
    return web.json_response(body)


async def _json_body(request: web.Request) -> dict[str, object]:
    try:
        body = json.loads(await request.read())
    except ValueError:
        raise web.HTTPBadRequest(text="request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="request body must be a JSON object")
    return body


async def _view(request: web.Request) -> web.Response:
    body = await _json_body(request)
    function = body.get("function")
    type_arguments = body.get("type_arguments", [])
    arguments = body.get("arguments", [])
    if (
        not isinstance(function, str)
        or not isinstance(type_arguments, list)
        or not isinstance(arguments, list)
    ):
        raise web.HTTPBadRequest(
            text='expected {"function": str, "type_arguments": [...], "arguments": [...]}'
        )
    result = _node(request).view(function, type_arguments, arguments)
    return web.json_response({"result": result})


async def _block(request: web.Request) -> web.Response:
    return web.json_response(_node(request).block_json())


def _event_type(raw: str) -> str:
    parts = raw.split("::")
    if len(parts) != 3 or not all(parts):
        raise web.HTTPBadRequest(
            text=f"event type must be <address>::<module>::<struct>, got {raw!r}"
        )
    try:
        address = normalise_address(parts[0])
    except ValueError:
        raise web.HTTPBadRequest(text=f"invalid address in event type {raw!r}") from None
    return f"{address}::{parts[1]}::{parts[2]}"


async def _events(request: web.Request) -> web.Response:
    event_type = _event_type(request.match_info["event_type"])
    limit = _int_query(request, "limit")
    start = _int_query(request, "start")
    events, cursor = _node(request).events(
        event_type,
        start=start,
        start_height=_int_query(request, "start_height"),
        end_height=_int_query(request, "end_height"),
        limit=EVENTS_PAGE_MAX if limit is None else limit,
    )
    headers = {"x-supra-cursor": cursor} if cursor is not None else None
    return web.json_response({"data": events}, headers=headers)


async def _info(request: web.Request) -> web.Response:
    return web.json_response(_node(request).info(rpc_url=request.app[_URL_KEY]).to_json())


async def _advance(request: web.Request) -> web.Response:
    body = await _json_body(request)
    seconds = body.get("seconds")
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int)
        or not 0 < seconds <= MAX_ADVANCE_SECONDS
    ):
        raise web.HTTPBadRequest(
            text=f'expected {{"seconds": N}} with an integer 1 <= N <= {MAX_ADVANCE_SECONDS}, got {seconds!r}'
        )
    node = _node(request)
    block = node.advance(seconds)
    return web.json_response({"chain_time": node.chain_time, "block_height": block.height})


async def _timing(request: web.Request) -> web.Response:
    tx_hash = _hash_param(request)
    body = _node(request).transaction_timing(tx_hash)
    if body is None:
        raise web.HTTPNotFound(text=f"transaction {tx_hash} not found")
    return web.json_response(body)


async def _chain_id_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["x-supra-chain-id"] = str(request.app[_NODE_KEY].chain_id)


def build_app(node: LocalNode, *, rpc_url: str) -> web.Application:
    """The aiohttp application serving ``node``; ``rpc_url`` is reported by ``info``."""
    app = web.Application(middlewares=[_errors], client_max_size=1 << 20)
    app[_NODE_KEY] = node
    app[_URL_KEY] = rpc_url
    app.on_response_prepare.append(_chain_id_header)
    app.router.add_get("/rpc/v1/transactions/chain_id", _chain_id)
    app.router.add_get("/rpc/v3/transactions/chain_id", _chain_id)
    app.router.add_get("/rpc/v3/transactions/estimate_gas_price", _gas_price)
    app.router.add_post("/rpc/v3/transactions/submit", _submit)
    app.router.add_post("/rpc/v3/transactions/simulate", _simulate)
    app.router.add_get("/rpc/v3/transactions/{hash}", _transaction)
    app.router.add_get("/rpc/v3/accounts/{address}", _account)
    app.router.add_post("/rpc/v3/view", _view)
    app.router.add_get("/rpc/v3/block", _block)
    app.router.add_get("/rpc/v3/events/{event_type}", _events)
    app.router.add_get("/localnet/v1/info", _info)
    app.router.add_post("/localnet/v1/advance", _advance)
    app.router.add_get("/localnet/v1/transactions/{hash}", _timing)
    return app
