"""Finding 9: ``/healthz`` and ``/readyz`` answer reason codes, never error text or URLs.

The daemon's only endpoint has an API key in its URL path (as some providers hand them out), and
it turns hostile after the first sweep: every answer is an HTTP 500 whose message carries text of
the attacker's choosing. Ticks fail; the health answers must say so in codes only.
"""

from __future__ import annotations

import json
import re

import aiohttp
import pytest
from byz_harness import Byzantine, Lie, LyingProxy, eventually

pytestmark = [pytest.mark.timeout(60), pytest.mark.localnet(block_interval_ms=50)]

_KEY = "key-5ec7e7-api-0123456789"
_TEXT = "see http://evil.example/x <script>alert(1)</script>"
_CODE = re.compile(r"[a-z][a-z0-9_]*")


async def test_health_answers_say_why_in_codes_not_in_error_text(byz: Byzantine) -> None:
    async with LyingProxy(byz.net.base_url, base_path=f"/{_KEY}/") as keyed:
        config = byz.config(urls=(keyed.url,))
        async with byz.daemon(config) as daemon:
            await eventually(
                lambda: _value(daemon.sweeps), lambda n: n >= 1, within=20, what="a sweep"
            )
            daemon.health.tick_max_age_seconds = 1.0
            # when: the endpoint answers every request with a 500 carrying the attacker's text
            keyed.tell(Lie.LOUD_ERRORS, text=_TEXT)
            assert daemon.web is not None
            url = daemon.web.url
            async with aiohttp.ClientSession() as http:

                async def health() -> tuple[int, str]:
                    async with http.get(f"{url}/healthz") as reply:
                        return reply.status, await reply.text()

                _, text = await eventually(
                    health, lambda h: h[0] == 503, within=20, what="/healthz to go stale"
                )
                async with http.get(f"{url}/readyz") as reply:
                    ready = await reply.text()
        # then: codes; no URL, no key, no attacker text
        body = json.loads(text)
        assert body["status"] == "stale"
        assert _CODE.fullmatch(body["reason"]) and _CODE.fullmatch(body["last_failure"]), body
        assert body["last_failure"] != "unknown", body
        for answer in (text, ready):
            for leak in (_KEY, "evil.example", "script", "http", "127.0.0.1"):
                assert leak not in answer, (leak, answer)
        assert keyed.told.get("loud_errors", 0) > 0


async def _value[T](value: T) -> T:
    return value
