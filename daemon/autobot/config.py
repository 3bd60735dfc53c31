"""The daemon's configuration: one TOML file, parsed once at the edge into frozen models.

Why this shape (docs/conventions.md §7): every later layer receives plain, already-validated values, so
nothing downstream re-checks a URL or wonders whether ``15`` meant seconds. The loader collects
*every* problem of a file before failing (an operator fixing a config should not play whack-a-mole)
and raises one ``ConfigError`` whose problems name the dotted path (``chain.rpc_urls[1]``) and the
offending value. ``autobot check-config`` prints them and exits 78 (EX_CONFIG), which the unit's
``RestartPreventExitStatus=78`` turns into "stop, do not restart-loop".

The parser is generic (``autobot.config_schema``): a section is a frozen dataclass, a key is one
of its fields, the field's type hint says how a TOML value converts (``int`` refuses ``true``,
``float`` takes ``15`` or ``0.5``, ``Path`` resolves relative paths, ``X | None`` is optional) and
``field(metadata=rules(...))`` adds bounds and a per-field check; a section may define a static
``cross_checks(values)`` for rules between its keys. **Adding a section** means writing its
dataclass here and adding one field to ``Config``; the parser does not change.

Paths:
  * A relative path resolves against the directory of the config file (not the working directory:
    systemd starts the daemon in ``/var/lib/autobot``).
  * A relative **key file** path resolves against ``$CREDENTIALS_DIRECTORY`` when systemd set it
    (``LoadCredential=admin.key:/etc/autobot/keys/admin.key`` + ``admin_key_file = "admin.key"``),
    else against the config file's directory. So one config serves the unit and an operator running
    ``autobot check-config`` by hand with the keys next to the config (or with
    ``CREDENTIALS_DIRECTORY=/etc/autobot/keys`` in its environment). Absolute paths are used as is.
  * ``~`` is not expanded (services have no meaningful home); such a path is refused.

Secrets are never in the file: keys are given as paths to key files. Loading the model does not
touch key files; ``check-config`` and the daemon's start check them (``autobot.config_check``,
through ``autobot.keyfiles`` and ``autobot.chain.keys``) and report problems in the same list, under
``keys.admin_key_file`` etc.

Which file (``find_config``, for every command but ``run`` with no config): ``--config PATH``
(before or after the command), else ``$AUTOBOT_CONFIG``, else ``./.autobot/autobot.toml`` (what
``make run`` writes, found from the checkout), else ``/etc/autobot/autobot.toml``.

This is the one module that reads ``os.environ``: ``CREDENTIALS_DIRECTORY``, ``AUTOBOT_CONFIG``
and ``NO_COLOR`` (``CommandEnvironment``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import socket
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from autobot.config_schema import (
    INVALID,
    ParseContext,
    Partial,
    describe,
    join_path,
    parse_table,
    rules,
)
from autobot.domain.values import Address, normalise_address
from autobot.errors import ConfigError, Problem

__all__ = [
    "CONFIG_SEARCH",
    "DEFAULT_FEED_PROBE",
    "AutomationConfig",
    "ChainConfig",
    "CommandEnvironment",
    "Config",
    "ConfigChoice",
    "ConfigFile",
    "DrawsConfig",
    "FeedsConfig",
    "HaConfig",
    "HttpConfig",
    "IncidentsConfig",
    "JournalConfig",
    "KeysConfig",
    "ListenAddress",
    "LogConfig",
    "RefundsConfig",
    "SchedulerConfig",
    "StatusConfig",
    "changed_settings",
    "command_environment",
    "find_config",
    "is_loopback_host",
    "load_config",
    "parse_config",
    "read_config_file",
]

_HEX_RUN = re.compile(r"(?:0[xX])?[0-9a-fA-F]{64,}")
_OPERATOR_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
_INSTANCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,62}")
_LOOKS_LIKE_DSN = re.compile(r"(?i)^postgres(?:ql)?://|\w=\S")

# --------------------------------------------------------------------------------------------
# Per-field checks


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` names and loopback IP literals (``127.0.0.0/8``, ``::1``)."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _normalise_rpc_url(url: str) -> str:
    """``url`` with a lower-case scheme and a trailing ``/``; ``ValueError`` says what is wrong."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise ValueError("expected an http:// or https:// URL with a host") from None
    if parts.username is not None or parts.password is not None:
        raise ValueError("credentials in the URL are not allowed (secrets are file paths only)")
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or not port_ok:
        raise ValueError("expected an http:// or https:// URL with a host")
    if parts.query or parts.fragment:
        raise ValueError("a query string or fragment is not allowed")
    # The SDK joins endpoints with urljoin, which drops a path prefix without a trailing slash.
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, "", ""))


def _without_userinfo(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "…" if "@" in url else url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="…@" + parts.netloc.rpartition("@")[2]))


def _rpc_urls(urls: tuple[str, ...], path: str, ctx: ParseContext) -> Any:
    if not urls:
        return ctx.report(path, "expected at least one RPC endpoint URL", [])
    normalised: list[str | None] = []
    for i, url in enumerate(urls):
        try:
            clean: str | None = _normalise_rpc_url(url)
        except ValueError as exc:
            ctx.report(f"{path}[{i}]", str(exc), _without_userinfo(url))
            clean = None
        if clean is not None and clean in normalised:
            ctx.report(f"{path}[{i}]", "the same endpoint is listed twice", url)
            clean = None
        normalised.append(clean)
    if None in normalised:
        return Partial(tuple(normalised))  # cross-checks still judge the good ones
    return tuple(normalised)


def _address(text: str, path: str, ctx: ParseContext) -> Any:
    try:
        return normalise_address(text)
    except ValueError:
        return ctx.report(
            path, "expected an account address: 0x followed by 1 to 64 hex digits", text
        )


def _key_path(value: Path, path: str, ctx: ParseContext) -> Any:
    if _HEX_RUN.search(value.name):
        # Someone pasted the key itself; never echo it.
        return ctx.report(path, "looks like key material, not a path: give the path of a key file")
    return value


def _operator_files(files: Mapping[str, Path], path: str, ctx: ParseContext) -> Any:
    if not files:
        return ctx.report(path, 'expected at least one operator, e.g. { A = "operator-a.key" }', {})
    ok = True
    for name, file in files.items():
        if not _OPERATOR_NAME.fullmatch(name) or name.lower().startswith("0x"):
            ctx.report(
                join_path(path, name),
                "operator names are 1-32 letters, digits, '-' or '_' and do not start with 0x",
                name,
            )
            ok = False
        elif _key_path(file, join_path(path, name), ctx) is INVALID:
            ok = False
    return files if ok else INVALID


def _asset_ids(assets: tuple[int, ...], path: str, ctx: ParseContext) -> Any:
    if not assets:
        return ctx.report(
            path, "an empty list watches nothing; omit the key to watch every registered asset", []
        )
    seen: set[int] = set()
    twice = False
    for i, asset in enumerate(assets):
        if asset in seen:
            ctx.report(f"{path}[{i}]", "asset listed twice", asset)
            twice = True
        seen.add(asset)
    return INVALID if twice else assets


@dataclass(frozen=True, slots=True, kw_only=True)
class ListenAddress:
    """A ``host:port`` to bind; IPv6 hosts are written ``[::1]:9464``."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(self.host)


def _listen(raw: object, path: str, ctx: ParseContext) -> Any:
    if not isinstance(raw, str):
        return ctx.report(path, f'expected "HOST:PORT", got {describe(raw)}', raw)
    host, sep, port = raw.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        host = ""  # an unbracketed IPv6 literal is ambiguous
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        return ctx.report(
            path, 'expected "HOST:PORT" with a port in 0..65535 ([::1]:9464 for IPv6)', raw
        )
    return ListenAddress(host=host, port=int(port))


# --------------------------------------------------------------------------------------------
# Sections


READS_EXPLAINED = {
    "storage": "reads the package's resources and table items (works with the package as "
    "published, whose readers are not #[view])",
    "views": "calls the package's readers through /rpc/v3/view (only for a package redeployed "
    "with #[view] on them; a node refuses them otherwise)",
}
"""``[chain] reads``: each choice and what it does (``check-config`` prints it)."""


def _reads(raw: Any, path: str, ctx: ParseContext) -> Any:
    if isinstance(raw, str) and raw in READS_EXPLAINED:
        return raw
    choices = "; or ".join(f'"{k}" {v}' for k, v in READS_EXPLAINED.items())
    return ctx.report(path, f"expected {choices}", raw)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainConfig:
    """``[chain]``: which chain, which package, how transactions are built and paced."""

    rpc_urls: tuple[str, ...] = field(metadata=rules(check=_rpc_urls))
    """Supra RPC endpoints, tried in order; normalised to end in ``/``."""
    chain_id: int = field(metadata=rules(ge=1, le=255))
    """Checked against every response's ``x-supra-chain-id`` (mainnet 8, testnet 6)."""
    package_address: Address = field(metadata=rules(check=_address))
    """``@lottery_multi``: the package address, which is also the admin account."""
    allow_insecure_http: bool = False
    """Permit ``http://`` to a non-loopback host (signed transactions and reads in clear text)."""
    request_timeout_seconds: float = field(default=10.0, metadata=rules(gt=0))
    tx_ttl_seconds: int = field(default=60, metadata=rules(ge=1, le=86_400))
    """Transaction expiry, from the host's wall clock (docs/decisions.md §12)."""
    max_gas_amount: int = field(default=500_000, metadata=rules(ge=1))
    """The most gas units a transaction may burn: the cap of the simulation-based amount."""
    gas_amount_margin: float = field(default=1.5, metadata=rules(ge=1, le=10))
    """``max_gas_amount`` signed = the simulation's ``gas_used`` times this (at least 10,000,
    at most ``max_gas_amount``)."""
    gas_unit_price: int | None = field(default=None, metadata=rules(ge=1))
    """``None``: use the nodes' estimate (``estimate_gas_price``, the healthy endpoints' median)."""
    max_gas_unit_price: int = field(default=10_000, metadata=rules(ge=1))
    """Hard cap: never sign a transaction with a higher gas unit price, whatever a node says."""
    gas_price_ceiling_factor: float = field(default=2.0, metadata=rules(ge=1, le=100))
    """An estimate above this times the median of the recent accepted estimates is refused
    (the price stays at that ceiling)."""
    submit_window: int = field(default=8, metadata=rules(ge=1))
    """Most transactions in flight per account (sequence numbers ahead of the chain)."""
    time_scale: float = field(default=1.0, metadata=rules(gt=0, le=100_000))
    """Chain seconds per wall second: 1 on a real network, a localnet's ``--time-scale``.
    Chain time may not run faster than this (plus ``clock_tolerance_seconds``) on one
    endpoint's word (docs/decisions.md §14)."""
    clock_tolerance_seconds: float = field(default=30.0, metadata=rules(ge=0))
    """How far (chain seconds) a block time may run ahead of the pace the wall clock allows
    before it is quarantined, unless a majority of the endpoints agree."""
    reads: Literal["storage", "views"] = field(default="storage", metadata=rules(parse=_reads))
    """How the package is read: ``storage`` (its resources and table items; works with the
    package as published) or ``views`` (``POST /rpc/v3/view``; only for a package redeployed
    with ``#[view]`` on its readers). docs/decisions.md §1."""

    @staticmethod
    def cross_checks(v: Mapping[str, Any]) -> Iterator[Problem]:
        price, cap = v.get("gas_unit_price"), v.get("max_gas_unit_price")
        if isinstance(price, int) and isinstance(cap, int) and price > cap:
            yield Problem(
                "gas_unit_price",
                f"above max_gas_unit_price ({cap}): autobot never signs above the cap",
                price,
                has_value=True,
            )
        if v["allow_insecure_http"]:
            return
        for i, url in enumerate(v.get("rpc_urls", ())):
            if url is None:  # already reported
                continue
            parts = urlsplit(url)
            if parts.scheme == "http" and not is_loopback_host(parts.hostname or ""):
                yield Problem(
                    f"rpc_urls[{i}]",
                    "plain http to a non-loopback host; use https or set allow_insecure_http = true",
                    url,
                    has_value=True,
                )


@dataclass(frozen=True, slots=True, kw_only=True)
class KeysConfig:
    """``[keys]``: paths of hex ed25519 key files (never the keys themselves).

    Relative paths resolve against ``$CREDENTIALS_DIRECTORY`` when set, else the config's folder.
    """

    admin_key_file: Path = field(metadata=rules(relative_to="credentials", check=_key_path))
    """The package admin (``@lottery_multi``): signs every lottery operation."""
    operator_key_files: Mapping[str, Path] = field(
        metadata=rules(relative_to="credentials", check=_operator_files)
    )
    """Bot operators by name (``{ A = "operator-a.key" }``): announce and record actions."""

    @staticmethod
    def cross_checks(v: Mapping[str, Any]) -> Iterator[Problem]:
        seen: dict[Path, str] = {}
        if "admin_key_file" in v:
            seen[v["admin_key_file"]] = "admin_key_file"
        for name, file in v.get("operator_key_files", {}).items():
            where = join_path("operator_key_files", name)
            if file in seen:
                yield Problem(
                    where,
                    f"the same key file as {seen[file]}: every key signs for one role",
                    str(file),
                    has_value=True,
                )
            seen.setdefault(file, where)


def _dsn(text: str, path: str, ctx: ParseContext) -> Any:
    from autobot.journal.dsn import Dsn  # psycopg's parser: only when a DSN is given

    # Never echo a DSN: a password may sit anywhere in it.
    try:
        dsn = Dsn(text)
    except ValueError as exc:
        return Partial(ctx.report(path, str(exc)))  # given, if unusable: for the cross-checks
    if dsn.password:
        return Partial(
            ctx.report(
                path,
                "holds a password, and this file holds no secrets: put the DSN in a file named by "
                "dsn_file (mode 600; with systemd, LoadCredential=), or give the password in "
                "~/.pgpass / PGPASSFILE",
            )
        )
    return text.strip()


def _dsn_path(value: Path, path: str, ctx: ParseContext) -> Any:
    if _HEX_RUN.search(value.name) or _LOOKS_LIKE_DSN.search(value.name):
        # Someone pasted the DSN itself; never echo it.
        return Partial(
            ctx.report(path, "looks like a connection string, not a path: give the file's path")
        )
    return value


def _instance_id(text: str, path: str, ctx: ParseContext) -> Any:
    if not _INSTANCE_ID.fullmatch(text):
        return ctx.report(
            path,
            "expected 1-63 letters, digits, '.', '_', ':' or '-', starting with a letter or digit",
            text,
        )
    return text


def _hostname() -> str:
    name = socket.gethostname().split(".")[0] or "autobot"
    return name if _INSTANCE_ID.fullmatch(name) else "autobot"


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalConfig:
    """``[journal]``: where the journal of plans, transactions and incidents lives.

    ``sqlite`` (the default): one file at ``path``, one daemon. ``postgres``: a PostgreSQL
    database (``dsn`` without a password, or ``dsn_file``: a file holding the DSN, vetted like a
    key file and resolved like one against ``$CREDENTIALS_DIRECTORY``), needed for ``[ha]``.
    """

    backend: Literal["sqlite", "postgres"] = "sqlite"
    path: Path = Path("/var/lib/autobot/journal.sqlite3")
    """The SQLite file (``backend = "sqlite"``)."""
    retention_days: float = field(default=30.0, metadata=rules(ge=0))
    """Finished actions, their transactions and handled requests older than this (days of chain
    time) are exported beside the journal and pruned (``journal/retention.py``); 0 keeps all."""
    dsn: str | None = field(default=None, metadata=rules(check=_dsn))
    """A libpq connection string without password (``backend = "postgres"``)."""
    dsn_file: Path | None = field(
        default=None, metadata=rules(relative_to="credentials", check=_dsn_path)
    )
    """A file holding the connection string, which may hold a password."""

    @staticmethod
    def cross_checks(v: Mapping[str, Any]) -> Iterator[Problem]:
        given = [k for k in ("dsn", "dsn_file") if v.get(k) is not None]
        if v.get("backend") == "postgres":
            if not given:
                yield Problem("dsn", 'backend = "postgres" needs a dsn or a dsn_file')
            elif len(given) == 2:
                yield Problem("dsn_file", "give either dsn or dsn_file, not both")
        elif given:
            yield Problem(given[0], 'only used with backend = "postgres"')

    def describe(self) -> str:
        """For people: the SQLite file, or the PostgreSQL URL (or the file holding it)."""
        if self.backend == "sqlite":
            return f"sqlite {self.path}"
        if self.dsn is not None:
            from autobot.journal.dsn import Dsn

            return f"postgres {Dsn(self.dsn).describe()}"
        return f"postgres (dsn_file {self.dsn_file})"


@dataclass(frozen=True, slots=True, kw_only=True)
class HaConfig:
    """``[ha]``: active/standby instances sharing a PostgreSQL journal, one leading at a time.

    The leader holds a lease in the database (its times are the database's); each takeover starts
    a new fencing epoch, and a journal write under an old epoch is refused.
    """

    enabled: bool = False
    instance_id: str = field(default_factory=_hostname, metadata=rules(check=_instance_id))
    """This instance's name in the lease (unique per instance); default: the host name."""
    lease_seconds: float = field(default=10.0, metadata=rules(gt=0, le=3600))
    """How long a lease lasts without renewal; a standby takes over after it expires."""
    renew_seconds: float = field(default=1.0, metadata=rules(gt=0))
    """How often the leader renews (at most lease_seconds / 2)."""

    @staticmethod
    def cross_checks(v: Mapping[str, Any]) -> Iterator[Problem]:
        lease, renew = v.get("lease_seconds"), v.get("renew_seconds")
        if lease is not None and renew is not None and renew > lease / 2:
            yield Problem(
                "renew_seconds",
                f"must be at most lease_seconds / 2 ({lease / 2:g}): a leader renews at least "
                "twice per lease",
                renew,
                has_value=True,
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerConfig:
    """``[scheduler]``: how often the chain is swept, how much runs at once."""

    poll_interval_seconds: float = field(default=15.0, metadata=rules(gt=0))
    max_concurrent_actions: int = field(default=4, metadata=rules(ge=1))


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpConfig:
    """``[http]``: the ``/metrics``, ``/healthz`` and ``/readyz`` listener."""

    listen: ListenAddress = field(
        default=ListenAddress(host="127.0.0.1", port=9464), metadata=rules(parse=_listen)
    )
    """Port 0 picks a free port (tests)."""
    allow_remote: bool = False
    """Permit a non-loopback ``listen`` (the endpoints have no authentication)."""

    @staticmethod
    def cross_checks(v: Mapping[str, Any]) -> Iterator[Problem]:
        listen = v.get("listen")
        if isinstance(listen, ListenAddress) and not listen.is_loopback and not v["allow_remote"]:
            yield Problem(
                "listen",
                "not a loopback address; set allow_remote = true to serve other hosts",
                str(listen),
                has_value=True,
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class LogConfig:
    """``[log]``: level and rendering (``auto``: console on a TTY, JSON lines otherwise)."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


@dataclass(frozen=True, slots=True, kw_only=True)
class AutomationConfig:
    """``[automation]``: whether transactions are sent, and the bot protocol's timings."""

    mode: Literal["live", "dry-run"] = "dry-run"
    """``dry-run`` plans, simulates and journals, but submits nothing."""
    grace_period_seconds: int = 0
    """Auto-close a lottery once chain time is past ``sales_end`` plus this."""
    bot_expiry_warning_seconds: int = 86_400
    """Warn this long before a bot's ``expires_at``."""
    bot_pending_grace_seconds: int = 900
    """A bot's pending action older than its timelock plus this is stale (handbook: 15 min)."""
    chain_abort_retries: int = field(default=3, metadata=rules(ge=0, le=100))
    """How often a call that aborted on chain with a "not yet" code is tried again (after a
    backoff) before its action is escalated to a person; any other on-chain abort is decided at
    once (docs/decisions.md §9, from the chain's own answer)."""

    @property
    def live(self) -> bool:
        return self.mode == "live"


@dataclass(frozen=True, slots=True, kw_only=True)
class DrawsConfig:
    """``[draws]``: VRF requests, retries, winners computation."""

    num_confirmations: int = field(default=1, metadata=rules(ge=1, le=20))
    """Blocks dVRF waits before its callback (``request_draw_admin``'s argument)."""
    vrf_deadline_seconds: int = field(default=3_600, metadata=rules(ge=1))
    """After this long without a callback, a draw is escalated (and may be cancelled)."""
    cancel_on_vrf_failure: bool = False
    """Cancel (reason 1) an escalated draw automatically; otherwise an operator decides."""
    winners_batch_limit: int = field(default=100, metadata=rules(ge=1))
    manual_retry_delay_seconds: int = 600
    """For MANUAL retry strategies: schedule the retry this long after the failure."""


DEFAULT_FEED_PROBE: tuple[int, ...] = tuple(range(1, 9))
"""The asset ids read when ``[feeds] assets`` is not set (the package lists no feeds: those of
these ids that have a feed are watched)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedsConfig:
    """``[feeds]``: price-feed monitoring and the automatic fallback switch."""

    assets: tuple[int, ...] | None = field(default=None, metadata=rules(check=_asset_ids))
    """Asset ids to watch; ``None`` (key omitted): every feed registered under
    ``DEFAULT_FEED_PROBE``'s ids."""
    fallback_on_stale: bool = False
    """Switch a stale feed to fallback automatically (``set_fallback``)."""
    fallback_reason: int = field(default=1, metadata=rules(le=255))
    """The ``reason: u8`` passed to ``set_fallback``."""

    @property
    def watched(self) -> tuple[int, ...]:
        """The asset ids a sweep reads: ``assets``, or ``DEFAULT_FEED_PROBE``."""
        return self.assets or DEFAULT_FEED_PROBE


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundsConfig:
    """``[refunds]``: refund plans after a cancellation, and their SLAs."""

    auto_refund: bool = True
    """Start a refund plan for every cancelled lottery; ``false``: only on operator request."""
    batch_size: int | None = field(default=None, metadata=rules(ge=1))
    """Tickets per batch; ``None``: the PayoutBatchCap's ``max_batch_size`` (always capped by it)."""
    first_batch_sla_seconds: int = field(default=43_200, metadata=rules(ge=1))
    complete_sla_seconds: int = field(default=86_400, metadata=rules(ge=1))

    @staticmethod
    def cross_checks(v: Mapping[str, Any]) -> Iterator[Problem]:
        first, complete = v.get("first_batch_sla_seconds"), v.get("complete_sla_seconds")
        if first is not None and complete is not None and complete < first:
            yield Problem(
                "complete_sla_seconds",
                "must not be shorter than first_batch_sla_seconds",
                complete,
                has_value=True,
            )


def _status_listen(raw: object, path: str, ctx: ParseContext) -> Any:
    """``"HOST:PORT"`` as for ``[http]``; a bare port (``8080`` or ``":8080"``) is loopback."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if isinstance(raw, str) and (raw.isdigit() or (raw.startswith(":") and raw[1:].isdigit())):
        raw = "127.0.0.1:" + raw.removeprefix(":")
    return _listen(raw, path, ctx)


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusConfig:
    """``[status]``: the public status page (``autobot.status``); off unless ``listen`` is set."""

    listen: ListenAddress | None = field(default=None, metadata=rules(parse=_status_listen))
    """Where ``/``, ``/status.json`` and ``/status.schema.json`` listen; a bare port is loopback."""
    max_age_seconds: int = field(default=120, metadata=rules(le=86_400))
    """``Cache-Control: public, max-age`` of the page and the document (a public cache's lifetime)."""
    page_refresh_seconds: float = field(default=60.0, metadata=rules(ge=1, le=86_400))
    """How often the page fetches ``/status.json`` again."""


def _responsible(text: str, path: str, ctx: ParseContext) -> Any:
    name = " ".join(text.split())
    if not name or len(name) > 100:
        return ctx.report(path, "expected a name of 1..100 characters on one line", text)
    return name


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentsConfig:
    """``[incidents]``: the incident log in the handbook's format (docs/package.md §8)."""

    log_path: Path | None = None
    """The Markdown file auditors keep (the handbook's ``incident_log.md``): after a sweep that
    logged an incident the daemon rewrites it atomically with every row of its journal, keeping
    the rows people wrote there. ``None``: the journal only (``autobot incidents``)."""
    responsible: str = field(default="autobot", metadata=rules(check=_responsible))
    """The "responsible" cell of the rows autobot writes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """The whole file. Every field typed as a section dataclass is a ``[table]``; the others are
    supplied by the loader (``source``, ``credentials_directory``)."""

    source: Path
    credentials_directory: Path | None = None
    chain: ChainConfig
    keys: KeysConfig
    journal: JournalConfig = field(default_factory=JournalConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    log: LogConfig = field(default_factory=LogConfig)
    automation: AutomationConfig = field(default_factory=AutomationConfig)
    draws: DrawsConfig = field(default_factory=DrawsConfig)
    feeds: FeedsConfig = field(default_factory=FeedsConfig)
    refunds: RefundsConfig = field(default_factory=RefundsConfig)
    status: StatusConfig = field(default_factory=StatusConfig)
    ha: HaConfig = field(default_factory=HaConfig)
    incidents: IncidentsConfig = field(default_factory=IncidentsConfig)

    @staticmethod
    def cross_checks(v: Mapping[str, Any]) -> Iterator[Problem]:
        ha, journal = v.get("ha"), v.get("journal")
        if (
            isinstance(ha, HaConfig)
            and isinstance(journal, JournalConfig)
            and ha.enabled
            and journal.backend != "postgres"
        ):
            yield Problem(
                "ha.enabled",
                'high availability needs a shared journal: set [journal] backend = "postgres"',
                True,
                has_value=True,
            )


# --------------------------------------------------------------------------------------------
# Loading


def _credentials_dir(environ: Mapping[str, str], ctx: ParseContext) -> Path | None:
    value = environ.get("CREDENTIALS_DIRECTORY", "")
    if not value:
        return None
    if not os.path.isabs(value):
        ctx.report("$CREDENTIALS_DIRECTORY", "must be an absolute path", value)
        return None
    return Path(value)


def _parse(
    data: Mapping[str, object], *, source: Path, environ: Mapping[str, str] | None
) -> tuple[Config | None, ParseContext]:
    ctx = ParseContext(base_dir=Path(os.path.abspath(source)).parent, credentials_dir=None)
    ctx.credentials_dir = _credentials_dir(os.environ if environ is None else environ, ctx)
    built = parse_table(
        Config, data, "", ctx, source=source, credentials_directory=ctx.credentials_dir
    )
    if ctx.problems or built is INVALID:
        return None, ctx
    return built, ctx


def parse_config(
    data: Mapping[str, object], *, source: Path, environ: Mapping[str, str] | None = None
) -> Config:
    """Validate already-parsed TOML (a dict) into ``Config``; raises ``ConfigError``.

    ``source`` names the file (relative paths resolve against its folder); ``environ`` defaults
    to ``os.environ`` and is only consulted for ``CREDENTIALS_DIRECTORY``.
    """
    config, ctx = _parse(data, source=source, environ=environ)
    if config is None:
        raise ConfigError(ctx.problems, source=str(source))
    return config


def _read(path: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [Problem(str(path), f"cannot read the config file: {exc.strerror or exc}")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(str(path), f"not UTF-8 text (bad byte at offset {exc.start})")]
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\(at line (\d+), column (\d+)\)$", message)
        where = f"{path}:{found[1]}:{found[2]}" if found else str(path)
        reason = message[: found.start()].strip() if found else message
        return None, [Problem(where, f"TOML syntax error: {reason}")]
    except RecursionError:  # tomllib recurses per nested array/inline table
        return None, [Problem(str(path), "TOML syntax error: arrays or tables nested too deeply")]


def load_config(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> Config:
    """Read and validate a config file; raises ``ConfigError`` listing every problem.

    A missing or unreadable file and TOML syntax errors are ``ConfigError`` too (the syntax error
    names ``FILE:LINE:COLUMN``). Key files are *not* opened here.
    """
    source = Path(path)
    data, problems = _read(source)
    if data is None:
        raise ConfigError(problems, source=str(source))
    return parse_config(data, source=source, environ=environ)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigFile:
    """A config file read and checked: the model (``None`` while there are problems), every
    problem, and the ``[keys]`` paths and package address that converted, so the key files can be
    checked even when other sections have problems (``config_check``: one list of everything)."""

    config: Config | None
    problems: tuple[Problem, ...]
    admin_key_file: Path | None = None
    operator_key_files: Mapping[str, Path] = field(default_factory=dict)
    package_address: str | None = None
    credentials_directory: Path | None = None
    dsn_file: Path | None = None  # [journal] dsn_file, when the PostgreSQL journal uses it


def read_config_file(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> ConfigFile:
    """Read and check a config file without raising: ``load_config`` for listing problems. Key
    files are *not* opened here."""
    source = Path(path)
    data, problems = _read(source)
    if data is None:
        return ConfigFile(config=None, problems=tuple(problems))
    config, ctx = _parse(data, source=source, environ=environ)
    keys = ctx.values.get("keys", {})
    journal = ctx.values.get("journal", {})
    dsn_file = journal.get("dsn_file") if journal.get("backend") == "postgres" else None
    return ConfigFile(
        config=config,
        problems=tuple(ctx.problems),
        admin_key_file=keys.get("admin_key_file"),
        operator_key_files=keys.get("operator_key_files", {}),
        package_address=ctx.values.get("chain", {}).get("package_address"),
        credentials_directory=ctx.credentials_dir,
        dsn_file=dsn_file if isinstance(dsn_file, Path) else None,
    )


def changed_settings(old: Config, new: Config) -> tuple[str, ...]:
    """Dotted paths of the keys whose values differ (for a reload that applies only some)."""
    changed: list[str] = []
    for f in dataclasses.fields(Config):
        a, b = getattr(old, f.name), getattr(new, f.name)
        if not dataclasses.is_dataclass(a):
            continue
        for g in dataclasses.fields(a):
            if getattr(a, g.name) != getattr(b, g.name):
                changed.append(f"{f.name}.{g.name}")
    return tuple(changed)


# --------------------------------------------------------------------------------------------
# Which config file, and the rest of a command's environment

CONFIG_ENV = "AUTOBOT_CONFIG"
CONFIG_SEARCH: tuple[Path, ...] = (Path(".autobot/autobot.toml"), Path("/etc/autobot/autobot.toml"))
"""Searched in order when neither ``--config`` nor ``$AUTOBOT_CONFIG`` names a file: the first is
relative to the working directory (``make run`` writes it in the checkout)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandEnvironment:
    """What the operator commands take from the environment, read once (docs/conventions.md §7)."""

    config: str | None = None
    """``$AUTOBOT_CONFIG`` (unset or empty: ``None``)."""
    no_color: bool = False
    """``$NO_COLOR`` is set and not empty (https://no-color.org): no colours anywhere."""
    path: str = ""
    """``$PATH``: whether a printed hint may say ``autobot`` or needs the program's path."""


def command_environment(environ: Mapping[str, str] | None = None) -> CommandEnvironment:
    env = os.environ if environ is None else environ
    return CommandEnvironment(
        config=env.get(CONFIG_ENV) or None,
        no_color=bool(env.get("NO_COLOR")),
        path=env.get("PATH", ""),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigChoice:
    """The config file a command uses and why (``how``: ``--config``, ``$AUTOBOT_CONFIG`` or
    ``found at <path>``)."""

    path: Path
    how: str

    @property
    def explicit(self) -> bool:
        """Named by ``--config``: a printed hint must name it too."""
        return self.how == "--config"


def find_config(
    given: str | os.PathLike[str] | None,
    *,
    env: CommandEnvironment | None = None,
    cwd: Path | None = None,
) -> ConfigChoice:
    """The config file: ``given`` (``--config``), ``$AUTOBOT_CONFIG``, then ``CONFIG_SEARCH``.

    A named file is used as named (``load_config`` reports it if it is missing); when nothing names
    one and none of the searched files exists, ``ConfigError`` says where it looked and how to
    name one.
    """
    if given is not None:
        return ConfigChoice(path=Path(given), how="--config")
    env = command_environment() if env is None else env
    if env.config is not None:
        return ConfigChoice(path=Path(env.config), how=f"${CONFIG_ENV}")
    for candidate in CONFIG_SEARCH:
        path = candidate if candidate.is_absolute() or cwd is None else cwd / candidate
        if path.is_file():
            return ConfigChoice(path=path, how=f"found at {candidate}")
    searched = ", ".join(str(c) for c in CONFIG_SEARCH)
    raise ConfigError(
        [
            Problem(
                "--config",
                f"no config file named and none found (searched {searched}); pass --config "
                f"PATH, set {CONFIG_ENV}=PATH, or start `make run` in this checkout",
            )
        ],
        source="(no config file)",
    )
