"""``autobot localnet --write-config PATH``: a ready daemon config for this localnet.

Writes ``PATH`` (TOML, in the format of ``autobot.config``) and, beside it, one key file per key
the daemon needs (mode 0600, hex private key, the SDK's ``Account.load_key`` format): the admin
and every registered operator. Paths in the file are relative (to the config's folder), so the
folder can be moved as a whole. The keys are the localnet's well-known dev keys.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from autobot.localnet.info import LocalnetInfo

__all__ = ["write_daemon_config"]


def _quote(value: str) -> str:
    return json.dumps(value)  # a TOML basic string is a JSON string for these characters


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def write_daemon_config(
    path: Path,
    info: LocalnetInfo,
    *,
    listen: str = "127.0.0.1:9464",
    journal: Path | None = None,
    cancel_on_vrf_failure: bool = True,
) -> list[Path]:
    """Write the config and its key files; returns every path written (config first).

    The config runs **live** with the demo-friendly values the engine issue asks for: feeds put
    in fallback when stale, VRF failures cancelled (``cancel_on_vrf_failure``: the ``ops``
    scenario leaves a stuck draw to a person), and timings scaled to the localnet's
    ``time_scale`` so a demo at time-scale 60 finishes within minutes: a sweep every chain minute
    (at most every 2 wall seconds) and a VRF deadline of 30 chain minutes. ``[chain] reads``
    follows the package the localnet serves: ``storage`` for the package as published,
    ``views`` for ``--views patched`` (a package redeployed with ``#[view]`` on its readers).
    The incident log is kept in the handbook's file beside the config (``incident_log.md``).
    """
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    admin_key = folder / "localnet-admin.key"
    operator_keys = {
        op.name: folder / f"localnet-operator-{op.name.lower()}.key" for op in info.operators
    }
    _write_private(admin_key, info.admin.private_key + "\n")
    for op in info.operators:
        _write_private(operator_keys[op.name], op.private_key + "\n")
    poll = max(0.25, min(2.0, 60.0 / max(info.time_scale, 1e-9)))
    journal_path = journal if journal is not None else Path(path.stem + "-journal.sqlite3")
    operators = ", ".join(f"{name} = {_quote(p.name)}" for name, p in operator_keys.items())
    reads = "views" if info.views == "patched" else "storage"
    text = f"""\
# autobot daemon config for the localnet at {info.rpc_url} (written by `autobot localnet`).
# The key files beside this file hold the localnet's well-known DEV keys: never use them elsewhere.

[chain]
rpc_urls = [{_quote(info.rpc_url)}]
chain_id = {info.chain_id}
package_address = {_quote(info.package_address)}
request_timeout_seconds = 10.0
tx_ttl_seconds = 30
reads = {_quote(reads)}

[keys]
admin_key_file = {_quote(admin_key.name)}
operator_key_files = {{ {operators} }}

[journal]
path = {_quote(str(journal_path))}

[scheduler]
poll_interval_seconds = {poll}

[http]
listen = {_quote(listen)}

[automation]
mode = "live"

[feeds]
fallback_on_stale = true

[draws]
cancel_on_vrf_failure = {"true" if cancel_on_vrf_failure else "false"}
vrf_deadline_seconds = 1800

[incidents]
log_path = "incident_log.md"
"""
    path.write_text(text)
    return [path, admin_key, *operator_keys.values()]
