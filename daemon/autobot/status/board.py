"""The status board: the latest status document as the bytes every request is answered with.

``StatusBoard.publish(document)`` encodes the document once (JSON) and renders the page once
(HTML), each with a strong ``ETag`` (a digest of its bytes), and swaps them in with one
assignment; the listener only reads ``board.current``. So a request costs a dictionary lookup
and a write, never a chain read, a journal read or a render, however many arrive.

The static assets (``assets/status.css``, ``status.js``, ``status.schema.json``) are read from
the package once, at construction; the page links the stylesheet and script with a digest in
the query (``?v=``) so a public cache may keep them long and a new version is fetched at once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from autobot.status.page import render_page

__all__ = [
    "ASSET_MAX_AGE_SECONDS",
    "Published",
    "Representation",
    "StatusBoard",
    "load_asset",
]

ASSET_MAX_AGE_SECONDS = 86_400
"""Cache lifetime of the versioned stylesheet and script."""

_ASSET_TYPES: Mapping[str, str] = {
    "status.css": "text/css; charset=utf-8",
    "status.js": "text/javascript; charset=utf-8",
    "status.schema.json": "application/schema+json",
    "favicon.svg": "image/svg+xml",
}


def load_asset(name: str) -> bytes:
    """A file of ``autobot/status/assets`` (package data)."""
    return resources.files("autobot.status").joinpath("assets", name).read_bytes()


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@dataclass(frozen=True, slots=True, kw_only=True)
class Representation:
    """One response body, its media type and strong entity tag."""

    body: bytes
    content_type: str
    etag: str

    @classmethod
    def of(cls, body: bytes, content_type: str) -> Representation:
        return cls(body=body, content_type=content_type, etag=_etag(body))


@dataclass(frozen=True, slots=True, kw_only=True)
class Published:
    """One published status: the document's JSON and the page's HTML."""

    document: Representation
    page: Representation
    generated_at: str


class StatusBoard:
    """Holds the latest ``Published`` status and the static assets."""

    def __init__(self) -> None:
        self.assets: dict[str, Representation] = {
            name: Representation.of(load_asset(name), media) for name, media in _ASSET_TYPES.items()
        }
        self.asset_urls: dict[str, str] = {
            name: f"assets/{name}?v={self.assets[name].etag.strip(chr(34))[:12]}"
            for name in ("status.css", "status.js", "favicon.svg")
        }
        self.current: Published | None = None

    def render(self, document: Mapping[str, Any]) -> Published:
        """Encode and render ``document`` (pure; may run in a worker thread)."""
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        page = render_page(document, assets=self.asset_urls).encode()
        return Published(
            document=Representation.of(body, "application/json"),
            page=Representation.of(page, "text/html; charset=utf-8"),
            generated_at=str(document["generated_at"]),
        )

    def publish(self, published: Published) -> None:
        """Make ``published`` what every request from now on is answered with."""
        self.current = published
