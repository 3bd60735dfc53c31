"""Logging: structlog for autobot, stdlib loggers routed through the same renderer.

Under systemd stdout is not a TTY, so the default ``format = "auto"`` writes one JSON object per
line (journald keeps it, ``jq`` reads it); on a terminal it renders for humans. Both structlog
events and stdlib records (APScheduler, aiosqlite, aiohttp.access, httpx) go through one
``logging`` handler whose ``structlog.stdlib.ProcessorFormatter`` adds the same fields: ISO-8601
UTC ``timestamp``, ``level``, ``logger``, and whatever was bound with
``structlog.contextvars.bind_contextvars`` (``action_id``, ``lottery_id``). Event names are
snake_case facts (``action_submitted``) with values as keyword arguments.

Redaction is defense in depth: nothing should ever log key material, but if something does, the
last processor before rendering replaces

* any 64+ hex-digit run in a field whose name mentions a key, secret, seed, token, password or
  private (except ``*address``/``*_id``/``*_file``/``*_path`` fields), and
* any registered secret (``register_secret``, called by key loading) anywhere: in the event, in
  any value (also nested, or inside an object's ``repr``) and in formatted tracebacks; a hex
  secret in any letter case, and its bytes as base64 or as a Python ``bytes`` repr.

Values that are not JSON scalars, strings, lists or dicts are rendered as their ``repr`` (never
``str``: the SDK's ``PrivateKey.__str__`` is the key's hex). Tracebacks are plain text
(``format_exc_info``); structlog's dict tracebacks are avoided because they can carry frame
locals, which is where a key would sit.

The one piece of global state is the ``logging`` configuration itself (process-wide by nature):
the redactor lives on autobot's root handler, and ``register_secret`` finds it there rather than in
a module-level registry of its own. Loggers are not cached on first use, so
``structlog.testing.capture_logs()`` works in tests. Chatty third-party INFO logs (APScheduler's
per-run lines, aiohttp's access log: one line per Prometheus scrape) are raised to WARNING unless
the level is ``debug``.

A *story* line (an event with a ``story`` field: ``autobot.story``, the sweeps' summary) is
rendered on a console as that text alone, a plain sentence; JSON keeps every field.
"""

from __future__ import annotations

import base64
import logging
import re
import sys
from collections.abc import Mapping
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = ["REDACTED", "SecretRedactor", "configure_logging", "plain_story", "register_secret"]

REDACTED = "[redacted]"

_SENSITIVE_NAME = re.compile(r"key|secret|private|seed|passw|token|mnemonic|credential", re.I)
_EXEMPT_NAME = re.compile(r"(address|addr|_id|_file|_path)$", re.I)
_HEX_RUN = re.compile(r"(?:0[xX])?[0-9a-fA-F]{64,}")
_MIN_SECRET_LENGTH = 16  # shorter strings would redact ordinary words and numbers
_MAX_DEPTH = 6
_QUIET_UNLESS_DEBUG = ("apscheduler", "aiohttp.access", "httpx", "httpcore")


class SecretRedactor:
    """A structlog processor that removes key material from an event before it is rendered."""

    def __init__(self) -> None:
        self._secrets: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None

    def register(self, secret: str) -> None:
        """Redact ``secret`` from now on: for hex, also its ``0x`` and upper-case spellings and
        its bytes as base64 (either alphabet) and as Python's ``bytes`` repr."""
        text = secret.strip()
        if text[:2].lower() == "0x":
            text = text[2:]
        if len(text) < _MIN_SECRET_LENGTH or text.lower() in self._secrets:
            return
        self._secrets = self._secrets | {text.lower()}
        spellings = {s for secret in self._secrets for s in (secret, *_byte_spellings(secret))}
        alternatives = "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True))
        # Swapped in whole: records logged from other threads see the old or the new pattern.
        self._pattern = re.compile(f"(?:0[xX])?(?:{alternatives})", re.IGNORECASE)

    @property
    def secrets(self) -> frozenset[str]:
        return self._secrets

    def scrub(self, text: str) -> str:
        return text if self._pattern is None else self._pattern.sub(REDACTED, text)

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        return {key: self._clean(str(key), value, 0) for key, value in event_dict.items()}

    def _clean(self, name: str, value: Any, depth: int) -> Any:
        sensitive = bool(_SENSITIVE_NAME.search(name)) and not _EXEMPT_NAME.search(name)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return self.scrub(_HEX_RUN.sub(REDACTED, value) if sensitive else value)
        if isinstance(value, bytes | bytearray):
            return REDACTED if sensitive else value
        if depth < _MAX_DEPTH and isinstance(value, Mapping):
            return {k: self._clean(str(k), v, depth + 1) for k, v in value.items()}
        if depth < _MAX_DEPTH and isinstance(value, list | tuple | set | frozenset):
            return [self._clean(name, v, depth + 1) for v in value]
        # Both renderers would print repr(value) (JSONRenderer's fallback, ConsoleRenderer): judge,
        # and hand on, exactly that text. (Not str(): the SDK's PrivateKey.__str__ is its hex.)
        return self._clean(name, repr(value), depth)


def _byte_spellings(secret: str) -> tuple[str, ...]:
    """The other ways a program prints the bytes of a hex secret. (Matched case-insensitively
    like the rest: over-redacting a 43-character base64 lookalike costs nothing.)"""
    try:
        raw = bytes.fromhex(secret)
    except ValueError:
        return ()
    return (
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        repr(raw)[2:-1],
    )


_KEPT = ("timestamp", "level")


def plain_story(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """On a console, a story line is its text: ``… [info] lottery 3: cancelled (reason 1)``."""
    story = event_dict.get("story")
    if not isinstance(story, str):
        return event_dict
    return {k: event_dict[k] for k in _KEPT if k in event_dict} | {"event": story}


class _AutobotHandler(logging.StreamHandler[TextIO]):
    """autobot's root handler; carries the redactor so ``register_secret`` can find it."""

    def __init__(self, stream: TextIO, redactor: SecretRedactor) -> None:
        super().__init__(stream)
        self.redactor = redactor


def _installed() -> list[_AutobotHandler]:
    return [h for h in logging.getLogger().handlers if isinstance(h, _AutobotHandler)]


def register_secret(value: str) -> bool:
    """Have the installed log pipeline redact ``value`` wherever it appears.

    Returns ``False`` when ``configure_logging`` has not run (nothing renders through autobot's
    pipeline then); the daemon configures logging before it loads keys.
    """
    handlers = _installed()
    for handler in handlers:
        handler.redactor.register(value)
    return bool(handlers)


def configure_logging(
    *,
    level: Literal["debug", "info", "warning", "error"] = "info",
    log_format: Literal["auto", "json", "console"] = "auto",
    stream: TextIO | None = None,
    colors: bool | None = None,
) -> SecretRedactor:
    """Install autobot's logging (idempotent: a second call replaces the first, keeping secrets).

    ``stream`` defaults to ``sys.stdout``; ``colors`` (console rendering) defaults to whether the
    stream is a terminal (the caller passes ``False`` for ``NO_COLOR``). Returns the redactor.
    """
    out = sys.stdout if stream is None else stream
    redactor = SecretRedactor()
    root = logging.getLogger()
    for old in _installed():
        for secret in old.redactor.secrets:
            redactor.register(secret)
        root.removeHandler(old)
        old.close()

    console = log_format == "console" or (log_format == "auto" and _isatty(out))
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(colors=_isatty(out) if colors is None else colors)
        if console
        else structlog.processors.JSONRenderer()
    )
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    handler = _AutobotHandler(out, redactor)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redactor,
                *([plain_story] if console else []),
                renderer,
            ],
        )
    )
    root.addHandler(handler)
    numeric = logging.getLevelNamesMapping()[level.upper()]
    root.setLevel(numeric)
    for name in _QUIET_UNLESS_DEBUG:
        logging.getLogger(name).setLevel(numeric if numeric <= logging.DEBUG else logging.WARNING)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        context_class=dict,
        cache_logger_on_first_use=False,
    )
    return redactor


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False
