"""The localnet's HTTP server (aiohttp): the Supra RPC v3 subset and the dev-only ``/localnet/v1``.

RPC endpoints answer in the node's own shapes (OpenAPI tag supra_rpc_v11.5.2); every response,
errors included, carries ``x-supra-chain-id``; every error body is ``ErrResp`` ``{"message"}``
(400 for a refused request, 404 for an unknown hash, resource, table item or route, 405, 406, 500).

Storage (``localnet.storage``): ``GET /rpc/v3/accounts/{address}/resources`` (a page of
``MoveResource``: ``count`` ≤ ``RESOURCES_PAGE_MAX``, ``start`` = the opaque cursor of
``x-supra-cursor``; ``/rpc/v2/...`` answers ``{resources, cursor}``), ``GET
/rpc/v{2,3}/accounts/{address}/resources/{resource_type}`` (JSON, or Move BCS for ``Accept:
application/x-bcs``), ``POST /rpc/v2/tables/{table_handle}/item`` ``{"key_type", "value_type",
"key"}`` (the types must be the table's). ``POST /rpc/v3/view`` honours ``--views``
(``view_mode.py``).

Dev endpoints (never under ``/rpc/``):

* ``GET /localnet/v1/info`` → ``LocalnetInfo`` JSON (chain id, package, time scale, chain time,
  height, VRF retry variant, views mode, rpc_url, the well-known dev accounts);
* ``POST /localnet/v1/view`` → ``/rpc/v3/view``'s body and answer, any reader whatever ``--views``;
* ``POST /localnet/v1/advance`` ``{"seconds": N}`` (1 ≤ N ≤ 10 years) → moves chain time forward and
  produces a block at once; answers ``{"chain_time", "block_height"}``;
* ``POST /localnet/v1/drill`` ``{"drill": "failure-limit" | "clamp" | "pause-deposit" |
  "restore-deposit" | "stall-draw", …}`` → an alert drill's system transactions queued for the
  next blocks (``drills.py``; the RUNBOOK's alert sections use them); 400 for a malformed drill,
  409 for one that cannot run now;
* ``GET /localnet/v1/transactions/{hash}`` → ``{hash, kind, status, block_height, accepted_wall,
  executed_wall}`` (host wall seconds; for benchmarks);
* ``GET /localnet/v1/time_reached/{seconds}`` → ``{height, timestamp_us, produced_wall}``: the first
  block since the node started whose timestamp is at or after that chain time, and the host wall
  time it was produced at (for benchmarks; 404 if not reached yet, or reached before the start);
* ``GET /localnet/v1/faults`` → ``{"spec", "counts": {kind: n}, "total", "requests", "routes":
  {route: n}}`` (this front end's fault injection and RPC traffic, ``faults.py``); ``POST /localnet/v1/faults`` with a spec replaces it
  (400 naming the bad keys; ``{}`` turns faults off) and answers like ``GET``.

Faults apply to ``/rpc/`` requests only, in the outermost middleware (``_faults``): a fault that
answers for the node (5xx, 429, reset, timeout) never reaches a handler; ``stale_view`` and
``drop_submit`` are flags the handlers honour; ``malformed_json``, ``wrong_chain_id`` and
``hide_status`` act on the handler's answer.
"""

from __future__ import annotations

import json
import re
import socket
import struct
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from autobot.localnet.accounts import normalise_address
from autobot.localnet.admission import MIN_GAS_UNIT_PRICE, RejectCode, Rejected
from autobot.localnet.drills import DrillError, DrillRefused
from autobot.localnet.faults import FaultEngine, FaultSpec, FaultSpecError, Route
from autobot.localnet.node import EVENTS_PAGE_MAX, LocalNode, MoveAborted
from autobot.localnet.storage.typetags import TypeTag, key_from_json, parse_type

__all__ = [
    "BCS_SIGNED_TRANSACTION",
    "MAX_ADVANCE_SECONDS",
    "RESOURCES_PAGE_DEFAULT",
    "RESOURCES_PAGE_MAX",
    "build_app",
]

log = structlog.get_logger()

BCS_SIGNED_TRANSACTION = "application/x.supra.signed_transaction+bcs"
MAX_ADVANCE_SECONDS = 10 * 366 * 86_400
RESOURCES_PAGE_DEFAULT = 100
RESOURCES_PAGE_MAX = 1000
_BCS_MEDIA = ("application/x-bcs", "application/octet-stream")
_HASH = re.compile(r"(0x)?[0-9a-fA-F]{64}")
_NODE_KEY: web.AppKey[LocalNode] = web.AppKey("node", LocalNode)
_URL_KEY: web.AppKey[str] = web.AppKey("rpc_url", str)
_FAULTS_KEY: web.AppKey[FaultEngine] = web.AppKey("faults", FaultEngine)
# Per-request fault flags (set by ``_faults``, honoured by the handlers / the header hook).
_BEHIND: web.RequestKey[int] = web.RequestKey("stale_blocks", int)
_DROP: web.RequestKey[bool] = web.RequestKey("drop_submit", bool)
_WRONG_CHAIN: web.RequestKey[bool] = web.RequestKey("wrong_chain_id", bool)
_ROUTES = {"block": Route.BLOCK, "account": Route.ACCOUNT, "submit": Route.SUBMIT}
_HTTP_FAULTS = {"http_500": 500, "http_502": 502, "http_503": 503, "http_429": 429}

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
    except ConnectionError:  # the client left mid-request (cancelled, timed out): no one to answer
        log.debug("localnet_client_gone", path=request.path)
        return _error(400, "connection lost")
    except Exception:
        log.exception("localnet_request_failed", path=request.path)
        return _error(500, "internal error")


def _reset(request: web.Request) -> web.Response:
    """Close the connection without an answer (RST); the returned response is never sent."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return web.Response(status=500)


@web.middleware
async def _faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/rpc/"):
        return await handler(request)
    engine = request.app[_FAULTS_KEY]
    route = request.match_info.route.name
    decision = engine.decide(_ROUTES.get(route or "", Route.OTHER))
    if decision.delay > 0 and not await engine.pause(decision.delay):
        return _reset(request)
    kind = decision.kind
    spec = engine.spec
    if kind == "timeout":
        await engine.pause(spec.timeout_seconds)
        return _reset(request)
    if kind == "reset":
        return _reset(request)
    if kind in _HTTP_FAULTS:
        status = _HTTP_FAULTS[kind]
        refusal = _error(status, f"localnet fault injection: HTTP {status}")
        if status == 429:
            refusal.headers["Retry-After"] = str(spec.retry_after_seconds)
        return refusal
    if kind == "stale_view":
        request[_BEHIND] = spec.stale_blocks
    elif kind == "drop_submit":
        request[_DROP] = True
    elif kind == "wrong_chain_id":
        request[_WRONG_CHAIN] = True
    if route == "transaction" and _HASH.fullmatch(request.match_info["hash"]):
        tx_hash = _hash_param(request)
        timing = _node(request).transaction_timing(tx_hash)
        executed = None if timing is None else timing["executed_wall"]
        if engine.hidden(tx_hash, executed if isinstance(executed, int | float) else None):
            return _error(404, f"transaction {tx_hash} not found")
    response = await handler(request)
    if kind == "malformed_json" and isinstance(response, web.Response):
        body = response.body if isinstance(response.body, bytes) else b""
        response.body = body[: len(body) // 2] + b"<!-- localnet fault injection: truncated"
    elif kind == "hide_status" and isinstance(response, web.Response) and response.status == 200:
        body = response.body if isinstance(response.body, bytes) else b"null"
        tx_hash = json.loads(body)
        if isinstance(tx_hash, str):
            engine.hide(tx_hash)
    return response


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
    address = _address_param(request)
    node = _node(request)
    # Every address exists on the localnet (like anvil's): unknown ones are at sequence number 0.
    sequence = node.sequence_number(address, behind=request.get(_BEHIND, 0))
    return web.json_response({"sequence_number": sequence, "authentication_key": address})


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
    node = _node(request)
    if request.get(_DROP):  # acknowledged, never admitted: the transaction is lost
        return web.json_response(node.transaction_hash(body))
    return web.json_response(node.submit(body))


async def _simulate(request: web.Request) -> web.Response:
    body = await _bcs_body(request)
    return web.json_response(_node(request).simulate(body))


def _json_or_404(body: object | None, missing: str) -> web.Response:
    """``body`` as JSON; 404 with ``missing`` as the text when there is none."""
    if body is None:
        raise web.HTTPNotFound(text=missing)
    return web.json_response(body)


def _hash_param(request: web.Request) -> str:
    raw = request.match_info["hash"]
    if _HASH.fullmatch(raw) is None:
        raise web.HTTPBadRequest(text=f"invalid transaction hash {raw!r}")
    return "0x" + raw.lower().removeprefix("0x")


async def _transaction(request: web.Request) -> web.Response:
    tx_hash = _hash_param(request)
    return _json_or_404(
        _node(request).transaction_json(tx_hash), f"transaction {tx_hash} not found"
    )


async def _json_body(request: web.Request) -> dict[str, object]:
    try:
        body = json.loads(await request.read())
    except ValueError:
        raise web.HTTPBadRequest(text="request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="request body must be a JSON object")
    return body


async def _view(request: web.Request, *, any_reader: bool = False) -> web.Response:
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
    result = _node(request).view(function, type_arguments, arguments, any_reader=any_reader)
    return web.json_response({"result": result})


async def _dev_view(request: web.Request) -> web.Response:
    """``/localnet/v1/view``: ``/rpc/v3/view``'s body and answer, any reader in any mode."""
    return await _view(request, any_reader=True)


# --- storage: resources and table items -----------------------------------------------------


def _address_param(request: web.Request) -> str:
    raw = request.match_info["address"]
    try:
        return normalise_address(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"invalid account address {raw!r}") from None


def _wants_bcs(request: web.Request) -> bool:
    """The first of the answer types the node offers that ``Accept`` names (JSON by default)."""
    for item in request.headers.get("Accept", "").split(","):
        media = item.split(";")[0].strip().lower()
        if media in _BCS_MEDIA:
            return True
        if media in ("application/json", "application/*", "*/*"):
            return False
    return False


def _bcs_response(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/x-bcs")


def _resource_page(
    request: web.Request,
) -> tuple[list[dict[str, object]], str | None]:
    address = _address_param(request)
    count = _int_query(request, "count")
    if count == 0:
        raise web.HTTPBadRequest(text="query parameter count must be at least 1")
    limit = min(RESOURCES_PAGE_MAX, RESOURCES_PAGE_DEFAULT if count is None else count)
    start = request.query.get("start")
    first = ""
    if start:
        try:
            first = bytes.fromhex(start.removeprefix("0x")).decode()
        except ValueError:
            raise web.HTTPBadRequest(text=f"invalid cursor start={start!r}") from None
    storage = _node(request).storage()
    tags = [t for t in storage.resource_types(address) if str(t) >= first]
    page = [{"type": str(t), "data": storage.resource(address, t)} for t in tags[:limit]]
    cursor = "0x" + str(tags[limit]).encode().hex() if len(tags) > limit else None
    return page, cursor


async def _resources(request: web.Request) -> web.Response:
    """``GET /rpc/v3/accounts/{address}/resources``: a page of ``MoveResource``s."""
    if _wants_bcs(request):
        raise web.HTTPNotAcceptable(text="the localnet serves BCS for one resource only")
    page, cursor = _resource_page(request)
    headers = {"x-supra-cursor": cursor} if cursor is not None else None
    return web.json_response(page, headers=headers)


async def _resources_v2(request: web.Request) -> web.Response:
    """``GET /rpc/v2/accounts/{address}/resources``: ``MoveResourcesResponse``."""
    page, cursor = _resource_page(request)
    return web.json_response({"resources": page, "cursor": cursor or ""})


def _resource_type(raw: str) -> TypeTag:
    try:
        tag = parse_type(raw)
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"invalid resource type: {exc}") from None
    if not tag.is_struct:
        raise web.HTTPBadRequest(text=f"invalid resource type {raw!r}: not a struct")
    return tag


def _stored(
    request: web.Request,
    missing: str,
    as_bcs: Callable[[], bytes | None],
    as_json: Callable[[], object | None],
) -> web.Response:
    """A stored value in the encoding the client asked for (BCS or JSON); 404 ``missing`` when
    there is none."""
    if _wants_bcs(request):
        body = as_bcs()
        if body is None:
            raise web.HTTPNotFound(text=missing)
        return _bcs_response(body)
    return _json_or_404(as_json(), missing)


async def _resource(request: web.Request) -> web.Response:
    """``GET /rpc/v3/accounts/{address}/resources/{resource_type}``: JSON or BCS."""
    address = _address_param(request)
    tag = _resource_type(request.match_info["resource_type"])
    storage = _node(request).storage()
    missing = f"Resource not found by Address({address}), Struct tag({tag})"

    def as_json() -> object | None:
        value = storage.resource(address, tag)
        return None if value is None else {"type": str(tag), "data": value}

    return _stored(request, missing, lambda: storage.resource_bcs(address, tag), as_json)


async def _table_item(request: web.Request) -> web.Response:
    """``POST /rpc/v2/tables/{table_handle}/item`` ``{"key_type", "value_type", "key"}``."""
    raw_handle = request.match_info["table_handle"]
    try:
        handle = normalise_address(raw_handle)
    except ValueError:
        raise web.HTTPBadRequest(text=f"invalid table handle {raw_handle!r}") from None
    body = await _json_body(request)
    key_type, value_type = body.get("key_type"), body.get("value_type")
    if not isinstance(key_type, str) or not isinstance(value_type, str) or "key" not in body:
        raise web.HTTPBadRequest(
            text='expected {"key_type": str, "value_type": str, "key": <key in node JSON>}'
        )
    try:
        key_tag, value_tag = parse_type(key_type), parse_type(value_type)
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    storage = _node(request).storage()
    missing = (
        f"Table Item not found by Table handle({handle}), Table key({json.dumps(body['key'])})"
    )
    table = storage.table(handle)
    if table is None:
        raise web.HTTPNotFound(text=missing)
    if (key_tag, value_tag) != (table.key_type, table.value_type):
        raise web.HTTPBadRequest(
            text=f"table {handle} maps {table.key_type} to {table.value_type}, "
            f"not {key_tag} to {value_tag}"
        )
    try:
        key = key_from_json(key_tag, body["key"])
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"invalid key: {exc}") from None
    return _stored(
        request,
        missing,
        lambda: storage.table_item_bcs(table, key),
        lambda: storage.table_item(table, key),
    )


async def _block(request: web.Request) -> web.Response:
    return web.json_response(_node(request).block_json(behind=request.get(_BEHIND, 0)))


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


async def _drill(request: web.Request) -> web.Response:
    """``POST /localnet/v1/drill``: an alert drill (``localnet/drills.py``)."""
    body = await _json_body(request)
    node = _node(request)
    try:
        started = node.drills.start(body, model=node.model, now_s=node.chain_time)
    except DrillError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    except DrillRefused as exc:
        raise web.HTTPConflict(text=str(exc)) from None
    return web.json_response(started)


async def _timing(request: web.Request) -> web.Response:
    tx_hash = _hash_param(request)
    return _json_or_404(
        _node(request).transaction_timing(tx_hash), f"transaction {tx_hash} not found"
    )


async def _time_reached(request: web.Request) -> web.Response:
    raw = request.match_info["seconds"]
    if not raw.isdigit() or len(raw) > 12:
        raise web.HTTPBadRequest(text=f"chain time must be whole seconds, got {raw!r}")
    body = _node(request).time_reached(int(raw) * 1_000_000)
    return _json_or_404(body, f"no block produced since start has reached chain time {raw}")


async def _faults_report(request: web.Request) -> web.Response:
    return web.json_response(request.app[_FAULTS_KEY].report())


async def _faults_replace(request: web.Request) -> web.Response:
    body = await _json_body(request)
    try:
        spec = FaultSpec.from_json(body)
    except FaultSpecError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    engine = request.app[_FAULTS_KEY]
    engine.replace(spec)
    log.info("localnet_faults_replaced", url=request.app[_URL_KEY], spec=spec.to_json())
    return web.json_response(engine.report())


async def _chain_id_header(request: web.Request, response: web.StreamResponse) -> None:
    chain_id = request.app[_NODE_KEY].chain_id
    if request.get(_WRONG_CHAIN):
        chain_id = chain_id % 255 + 1
    response.headers["x-supra-chain-id"] = str(chain_id)


async def _release_held(app: web.Application) -> None:
    app[_FAULTS_KEY].close()


def build_app(
    node: LocalNode, *, rpc_url: str, faults: FaultEngine | None = None
) -> web.Application:
    """The aiohttp application serving ``node``; ``rpc_url`` is reported by ``info``.

    ``faults`` is this front end's fault injection (none by default; replace its spec at
    ``/localnet/v1/faults``). Held requests are released when the application shuts down.
    """
    app = web.Application(middlewares=[_faults, _errors], client_max_size=1 << 20)
    app[_NODE_KEY] = node
    app[_URL_KEY] = rpc_url
    app[_FAULTS_KEY] = faults if faults is not None else FaultEngine()
    app.on_response_prepare.append(_chain_id_header)
    app.on_shutdown.append(_release_held)
    app.router.add_get("/rpc/v1/transactions/chain_id", _chain_id)
    app.router.add_get("/rpc/v3/transactions/chain_id", _chain_id)
    app.router.add_get("/rpc/v3/transactions/estimate_gas_price", _gas_price)
    app.router.add_post("/rpc/v3/transactions/submit", _submit, name="submit")
    app.router.add_post("/rpc/v3/transactions/simulate", _simulate)
    app.router.add_get("/rpc/v3/transactions/{hash}", _transaction, name="transaction")
    app.router.add_get("/rpc/v3/accounts/{address}", _account, name="account")
    app.router.add_get("/rpc/v3/accounts/{address}/resources", _resources)
    app.router.add_get("/rpc/v3/accounts/{address}/resources/{resource_type}", _resource)
    app.router.add_get("/rpc/v2/accounts/{address}/resources", _resources_v2)
    app.router.add_get("/rpc/v2/accounts/{address}/resources/{resource_type}", _resource)
    app.router.add_post("/rpc/v2/tables/{table_handle}/item", _table_item)
    app.router.add_post("/rpc/v3/view", _view)
    app.router.add_get("/rpc/v3/block", _block, name="block")
    app.router.add_get("/rpc/v3/events/{event_type}", _events)
    app.router.add_get("/localnet/v1/info", _info)
    app.router.add_post("/localnet/v1/advance", _advance)
    app.router.add_post("/localnet/v1/drill", _drill)
    app.router.add_post("/localnet/v1/view", _dev_view)
    app.router.add_get("/localnet/v1/transactions/{hash}", _timing)
    app.router.add_get("/localnet/v1/time_reached/{seconds}", _time_reached)
    app.router.add_get("/localnet/v1/faults", _faults_report)
    app.router.add_post("/localnet/v1/faults", _faults_replace)
    return app
