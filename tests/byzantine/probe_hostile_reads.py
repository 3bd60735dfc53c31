"""Issue "Trust no single endpoint", finding 5, against any checkout: one hostile endpoint's endless
id pages, 400 MiB body and dripping answer, read through the gateway of whichever ``autobot`` the
interpreter imports (so it runs on commits older than the byzantine harness too).

    .venv/bin/python tests/byzantine/probe_hostile_reads.py endless|huge|drip LABEL

prints one line: what ``lottery_ids()`` did, how long it took, the pages the endpoint served and
the process's peak RSS. Not collected by pytest (tests/byzantine/test_hostile_reads.py is the test);
kept to show the old behaviour next to the new one.
"""

import asyncio
import resource
import sys
import time

from aiohttp import web

from autobot.chain.supra import SupraGateway

MIB = 1024 * 1024
mode = sys.argv[1]
pages = 0


async def view(request: web.Request) -> web.StreamResponse:
    global pages
    body = await request.json()
    if mode == "endless":
        pages += 1
        start = int(body["arguments"][1])
        ids = [str(start + i) for i in range(1000)]  # always a full page: never ends
        return web.json_response({"result": [ids]}, headers={"x-supra-chain-id": "77"})
    if mode == "huge":
        resp = web.StreamResponse(
            headers={"Content-Type": "application/json", "x-supra-chain-id": "77"}
        )
        await resp.prepare(request)
        await resp.write(b'{"result": [["1"')
        chunk = b', "1"' * (MIB // 5)
        try:
            for _ in range(400):
                await resp.write(chunk)
        except Exception:
            return resp
        await resp.write(b"]]}")
        return resp
    if mode == "drip":
        resp = web.StreamResponse(
            headers={"Content-Type": "application/json", "x-supra-chain-id": "77"}
        )
        await resp.prepare(request)
        try:
            for (
                ch
            ) in b'{"result": [["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"]]}':
                await resp.write(bytes([ch]))
                await asyncio.sleep(0.5)
        except Exception:
            return resp
        return resp
    raise AssertionError(mode)


async def main() -> None:
    app = web.Application(client_max_size=64 * MIB)
    app.router.add_post("/rpc/v3/view", view)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    kw = {"reads": "views"} if "reads" in SupraGateway.__init__.__code__.co_varnames else {}
    gw = SupraGateway(
        rpc_urls=[f"http://127.0.0.1:{port}"], chain_id=77, package="0x1", request_timeout=2.0, **kw
    )
    t0 = time.monotonic()
    try:
        result = await asyncio.wait_for(gw.lottery_ids(), timeout=30)
        outcome = f"returned {len(result)} ids"
    except TimeoutError:
        outcome = "still reading after 30 s (cut by the probe)"
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {str(exc)[:120]}"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"[{sys.argv[2]}] {mode}: {outcome}; {time.monotonic() - t0:.1f} s; pages served {pages}; max RSS {rss:.0f} MiB"
    )
    await runner.cleanup()


asyncio.run(main())
