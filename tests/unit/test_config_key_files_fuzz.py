"""Arbitrary key-file situations behind a config: ``check_config_file`` (what ``check-config``
prints and ``autobot run`` refuses with, exit 78) returns problems by dotted path and never raises,
and never echoes key material; an empty list means a usable config."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from autobot.config_check import check_config_file
from autobot.localnet.accounts import dev_accounts

ACCOUNTS = dev_accounts()
ADMIN_KEY = ACCOUNTS.admin.private_key
OPERATOR_KEYS = [op.private_key for op in ACCOUNTS.operators]

KINDS = [
    "good",
    "missing",
    "directory",
    "fifo",
    "symlink",
    "dangling",
    "world-readable",
    "group-readable",
    "garbage",
    "zeros",
    "oversized",
    "empty",
    "admin-again",
    "dev-null",
]


def make_key_file(folder: Path, name: str, kind: str, key: str) -> Path:
    path = folder / name
    if kind == "missing":
        return path
    if kind == "directory":
        path.mkdir()
        return path
    if kind == "fifo":
        os.mkfifo(path, 0o600)
        return path
    if kind == "dev-null":
        return Path("/dev/null")
    if kind in ("symlink", "dangling"):
        target = folder / f"{name}.target"
        if kind == "symlink":
            target.write_text(key)
            target.chmod(0o600)
        path.symlink_to(target)
        return path
    content = {
        "garbage": "not a key \x00\xff",
        "zeros": "0" * 64,
        "oversized": key + " " * 2000,
        "empty": "",
        "admin-again": ADMIN_KEY,
    }.get(kind, key)
    path.write_text(content, errors="surrogateescape")
    path.chmod({"world-readable": 0o644, "group-readable": 0o640}.get(kind, 0o600))
    return path


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    admin_kind=st.one_of(st.just("good"), st.sampled_from(KINDS)),
    operator_kinds=st.lists(
        st.one_of(st.just("good"), st.sampled_from(KINDS)), min_size=0, max_size=3
    ),
    names=st.lists(
        st.one_of(st.sampled_from(["A", "B", "ops-1"]), st.text(max_size=10)),
        min_size=3,
        max_size=3,
        unique=True,
    ),
    package=st.one_of(st.just(ACCOUNTS.package_address), st.just("0x1"), st.text(max_size=10)),
    chain_id=st.one_of(
        st.integers(1, 255), st.integers(-5, 300), st.booleans(), st.text(max_size=3)
    ),
)
def test_any_key_file_situation_gives_problems_by_path_and_never_raises(
    admin_kind: str,
    operator_kinds: list[str],
    names: list[str],
    package: str,
    chain_id: Any,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        admin = make_key_file(folder, "admin.key", admin_kind, ADMIN_KEY)
        operators = {
            names[i]: make_key_file(folder, f"op{i}.key", kind, OPERATOR_KEYS[i])
            for i, kind in enumerate(operator_kinds)
        }
        table = ", ".join(f"{json.dumps(n)} = {json.dumps(str(p))}" for n, p in operators.items())
        source = folder / "autobot.toml"
        source.write_text(
            "[chain]\n"
            'rpc_urls = ["http://127.0.0.1:9/"]\n'
            f"chain_id = {json.dumps(chain_id) if not isinstance(chain_id, bool) else str(chain_id).lower()}\n"
            f"package_address = {json.dumps(package)}\n"
            "[keys]\n"
            f"admin_key_file = {json.dumps(str(admin))}\n"
            f"operator_key_files = {{ {table} }}\n"
            "[journal]\n"
            'path = "journal.sqlite3"\n'
        )
        # when
        config, problems = check_config_file(source, environ={})
        # then
        event(
            "usable"
            if not problems
            else "key problems"
            if any(p.path.startswith("keys.") for p in problems)
            else "other problems only"
        )
        for problem in problems:
            rendered = problem.render()
            assert problem.path.startswith(("chain.", "keys.", str(source))), rendered
            for key in (ADMIN_KEY, *OPERATOR_KEYS):
                assert key.removeprefix("0x") not in rendered.lower()
        if not problems:
            assert config is not None
            # "admin-again" holds the admin key: for the admin's own file that is simply good
            assert admin_kind in ("good", "symlink", "admin-again") and operators
            assert all(k in ("good", "symlink") for k in operator_kinds)
