"""The status listener: cached bytes, ETags, 304s, public caching, nothing version-revealing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from status_builders import facts, snapshot

from autobot.status.board import StatusBoard, load_asset
from autobot.status.document import build_document
from autobot.status.listener import CONTENT_SECURITY_POLICY, StatusListener


@pytest.fixture
async def served() -> AsyncIterator[tuple[StatusBoard, str, aiohttp.ClientSession]]:
    board = StatusBoard()
    async with (
        StatusListener(host="127.0.0.1", port=0, board=board, max_age_seconds=150) as listener,
        aiohttp.ClientSession() as http,
    ):
        yield board, listener.url, http


def publish(board: StatusBoard) -> None:
    board.publish(board.render(build_document(facts(snapshot()))))


async def test_before_the_first_sweep_the_page_and_document_are_not_there_yet(
    served: tuple[StatusBoard, str, aiohttp.ClientSession],
) -> None:
    _, url, http = served
    for path in ("", "status.json"):
        async with http.get(url + path) as reply:
            assert reply.status == 503
            assert reply.headers["Cache-Control"] == "no-store"
            assert reply.headers["Retry-After"] == "5"
    async with http.get(url + "status.schema.json") as reply:
        assert reply.status == 200
        assert await reply.read() == load_asset("status.schema.json")


async def test_answers_are_the_published_bytes_publicly_cacheable_with_an_etag(
    served: tuple[StatusBoard, str, aiohttp.ClientSession],
) -> None:
    board, url, http = served
    publish(board)
    current = board.current
    assert current is not None
    for path, item, media in (
        ("status.json", current.document, "application/json"),
        ("", current.page, "text/html; charset=utf-8"),
    ):
        async with http.get(url + path) as reply:
            assert reply.status == 200
            assert await reply.read() == item.body
            assert reply.headers["Content-Type"] == media
            assert reply.headers["Cache-Control"] == "public, max-age=150"
            assert reply.headers["ETag"] == item.etag
            assert reply.headers["Server"] == "autobot"  # no library or version
            assert reply.headers["X-Content-Type-Options"] == "nosniff"
    async with http.get(url) as reply:
        assert reply.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    ("header", "status"),
    [("{etag}", 304), ("W/{etag}", 304), ('"other", {etag}', 304), ("*", 304), ('"other"', 200)],
)
async def test_if_none_match_with_the_current_etag_is_answered_304_without_a_body(
    served: tuple[StatusBoard, str, aiohttp.ClientSession], header: str, status: int
) -> None:
    board, url, http = served
    publish(board)
    assert board.current is not None
    etag = board.current.document.etag
    async with http.get(
        url + "status.json", headers={"If-None-Match": header.format(etag=etag)}
    ) as reply:
        assert reply.status == status
        assert reply.headers["ETag"] == etag
        assert reply.headers["Cache-Control"] == "public, max-age=150"
        assert (await reply.read() == b"") == (status == 304)


async def test_a_new_status_gets_a_new_etag(
    served: tuple[StatusBoard, str, aiohttp.ClientSession],
) -> None:
    board, url, http = served
    publish(board)
    assert board.current is not None
    old = board.current.document.etag
    board.publish(board.render(build_document(facts(snapshot(now=1_700_000_100)))))
    async with http.get(url + "status.json", headers={"If-None-Match": old}) as reply:
        assert reply.status == 200
        assert reply.headers["ETag"] != old


async def test_head_answers_headers_only(
    served: tuple[StatusBoard, str, aiohttp.ClientSession],
) -> None:
    board, url, http = served
    publish(board)
    async with http.head(url + "status.json") as reply:
        assert reply.status == 200
        assert await reply.read() == b""


async def test_assets_are_served_long_cacheable_and_nothing_else_is(
    served: tuple[StatusBoard, str, aiohttp.ClientSession],
) -> None:
    board, url, http = served
    for name, media in (("status.css", "text/css"), ("status.js", "text/javascript"), ("favicon.svg", "image/svg+xml")):  # fmt: skip
        async with http.get(url + board.asset_urls[name]) as reply:
            assert reply.status == 200
            assert reply.headers["Content-Type"].startswith(media)
            assert reply.headers["Cache-Control"] == "public, max-age=86400"
            assert await reply.read() == load_asset(name)
    for path in (
        "assets/status.schema.json",
        "assets/..%2F__init__.py",
        "metrics",
        "admin",
        "status",
    ):
        async with http.get(url + path) as reply:
            assert reply.status == 404, path
    async with http.post(url + "status.json") as reply:
        assert reply.status == 405
