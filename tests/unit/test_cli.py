"""The command line: argument errors exit 2 naming the argument; check-config exits 78 or 0."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autobot.chain.signer import Signer
from autobot.cli import build_parser, main
from autobot.errors import EX_CONFIG

REPO = Path(__file__).resolve().parents[2]
AUTOBOT = REPO / ".venv" / "bin" / "autobot"

THREE_MISTAKES = """\
[chain]
rpc_urls = ["http://127.0.0.1:27100/"]
chain_id = true                       # mistake 1: a boolean is not an integer
package_address = "0x1"
tx_ttl = 30                           # mistake 2: unknown key (tx_ttl_seconds)

[keys]
admin_key_file = "admin.key"
operator_key_files = { A = "a.key" }

[http]
listen = "0.0.0.0:9464"               # mistake 3: remote listen without allow_remote
"""


def parse_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(argv)
    assert caught.value.code == 2
    return capsys.readouterr().err


def valid_config(folder: Path) -> Path:
    """A config whose keys exist, are 0600 and whose admin is the package address."""
    keys = {name: os.urandom(32).hex() for name in ("admin", "a", "b")}
    for name, key in keys.items():
        path = folder / f"{name}.key"
        path.write_text(key + "\n")
        path.chmod(0o600)
    source = folder / "autobot.toml"
    source.write_text(
        f"""\
[chain]
rpc_urls = ["http://127.0.0.1:27100"]
chain_id = 77
package_address = "{Signer.from_private_key_hex(keys["admin"]).address}"

[keys]
admin_key_file = "admin.key"
operator_key_files = {{ A = "a.key", B = "b.key" }}

[journal]
path = "journal.sqlite3"
"""
    )
    return source


def run_autobot(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
    return subprocess.run(
        [str(AUTOBOT), *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


# ---------------------------------------------------------------------------------------------
# Argument errors


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        ([], "COMMAND"),
        (["frobnicate"], "COMMAND"),
        (["run", "--listen", "nohost"], "--listen"),
        (["run", "--listen", "127.0.0.1:65536"], "--listen"),
        (["localnet", "--time-scale", "0"], "--time-scale"),
        (["localnet", "--port", "http"], "--port"),
        (["localnet", "--port", "70000"], "--port"),
        (["localnet", "--vrf-retry", "sometimes"], "--vrf-retry"),
        (["cancel", "1", "--config", "c.toml"], "--reason"),
        (["cancel", "-1", "--config", "c.toml", "--reason", "compliance"], "LOTTERY"),
        (["cancel", "1", "--config", "c.toml", "--reason", "boredom"], "--reason"),
        (["bot", "rotate", "A", "--config", "c", "--expires-in", "soon"], "--expires-in"),
        (["bot", "rotate", "A", "--config", "c", "--allowed-actions", "1,x"], "--allowed-actions"),
        (["feed", "clear-clamp", "one", "--config", "c"], "ASSET"),
    ],
)
def test_a_bad_argument_exits_2_naming_it(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert named in parse_error(argv, capsys)


# Real words of the grammar mixed with arbitrary text, so parses get past the first token.
words = st.sampled_from(
    [
        "run", "check-config", "localnet", "status", "actions", "show", "retry", "park",
        "incidents", "cancel", "refund", "feed", "clear-clamp", "bot", "rotate",
        "--config", "--listen", "--state-dir", "--time-scale", "--port", "--reason", "--json",
        "--format", "--expires-in", "--allowed-actions", "--max-failures", "--timelock",
        "--vrf-retry", "--faults", "--block-interval-ms", "vrf-failure", "1", "0", "-1",
        "1,2", "12h", "127.0.0.1:9464", "[::1]:1", "x.toml", "--", "-", "=", "--conf",
    ]
)  # fmt: skip
argv_lists = st.lists(words | st.text(max_size=12), max_size=8)


@settings(max_examples=400)
@given(argv_lists)
def test_any_argv_parses_or_exits_2(argv: list[str]) -> None:
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:
            assert exc.code == 2
        else:
            assert isinstance(args, argparse.Namespace)
            assert callable(args.handler)


# ---------------------------------------------------------------------------------------------
# check-config


def test_check_config_reports_all_three_mistakes_and_exits_78(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    source = tmp_path / "autobot.toml"
    source.write_text(THREE_MISTAKES)

    assert main(["check-config", str(source)]) == EX_CONFIG

    out, err = capsys.readouterr()
    assert out == ""
    for expected in (
        "chain.chain_id: expected an integer, got a boolean (got True)",
        "chain.tx_ttl: unknown key in [chain]; did you mean 'tx_ttl_seconds'?",
        "http.listen: not a loopback address; set allow_remote = true to serve other hosts "
        "(got '0.0.0.0:9464')",
    ):
        assert expected in err.splitlines()


def test_check_config_as_a_process_reports_all_three_mistakes_and_exits_78(tmp_path: Path) -> None:
    source = tmp_path / "autobot.toml"
    source.write_text(THREE_MISTAKES)

    done = run_autobot("check-config", str(source))

    assert done.returncode == 78
    for path in ("chain.chain_id:", "chain.tx_ttl:", "http.listen:"):
        assert any(line.startswith(path) for line in done.stderr.splitlines()), done.stderr


def test_check_config_also_reports_key_file_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    source = valid_config(tmp_path)
    (tmp_path / "a.key").chmod(0o644)
    (tmp_path / "b.key").unlink()
    source.write_text(source.read_text().replace("chain_id = 77", "chain_id = 0"))

    assert main(["check-config", str(source)]) == EX_CONFIG

    err = capsys.readouterr().err.splitlines()
    assert [line.split(":")[0] for line in err[:-1]] == [
        "chain.chain_id",
        "keys.operator_key_files.A",
        "keys.operator_key_files.B",
    ]
    assert "mode 0644" in err[1] and "does not exist" in err[2]
    assert err[-1] == f"{source}: 3 problem(s)"


def test_check_config_resolves_key_names_in_the_credentials_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = valid_config(tmp_path)
    creds = tmp_path / "credentials"
    creds.mkdir()
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))

    assert main(["check-config", str(source)]) == EX_CONFIG

    err = capsys.readouterr().err
    assert f"keys.admin_key_file: does not exist (got '{creds / 'admin.key'}')" in err


def test_check_config_on_a_valid_file_prints_a_summary_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    source = valid_config(tmp_path)

    assert main(["check-config", str(source)]) == 0

    out, err = capsys.readouterr()
    assert err == ""
    summary, reads = out.splitlines()
    assert summary.startswith("ok: chain 77 via 1 endpoint(s), package 0x")
    assert summary.endswith(
        f"2 operator(s), mode dry-run, journal sqlite {tmp_path / 'journal.sqlite3'} ({source}, --config)"
    )
    # the [chain] reads choice, explained
    assert reads.startswith("reads storage: reads the package's resources and table items")


def test_check_config_explains_the_reads_choices_when_the_value_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    source = valid_config(tmp_path)
    source.write_text(source.read_text().replace("[chain]\n", '[chain]\nreads = "view"\n', 1))

    assert main(["check-config", str(source)]) == 78

    err = capsys.readouterr().err
    assert 'chain.reads: expected "storage" reads the package\'s resources' in err
    assert 'or "views" calls the package\'s readers through /rpc/v3/view' in err
    assert "(got 'view')" in err


def test_check_config_as_a_process_on_a_valid_file_exits_0(tmp_path: Path) -> None:
    done = run_autobot("check-config", str(valid_config(tmp_path)))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("ok: chain 77 via 1 endpoint(s)")


def test_check_config_on_a_missing_file_exits_78(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(tmp_path / "nope.toml")]) == EX_CONFIG
    assert "cannot read the config file" in capsys.readouterr().err


def test_the_module_entry_point_runs_the_same_cli(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "autobot", "check-config", str(tmp_path / "nope.toml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 78


def test_actions_takes_config_before_or_after_the_subcommand() -> None:
    parser = build_parser()
    before = parser.parse_args(["actions", "--config", "a.toml", "show", "close:1:0"])
    after = parser.parse_args(["actions", "show", "close:1:0", "--config", "b.toml"])
    assert (before.config, before.action_id) == ("a.toml", "close:1:0")
    assert (after.config, after.action_id) == ("b.toml", "close:1:0")


def test_config_may_stand_before_the_command_too() -> None:
    parser = build_parser()
    assert parser.parse_args(["--config", "a.toml", "status"]).config == "a.toml"
    assert parser.parse_args(["status", "--config", "b.toml"]).config == "b.toml"
    assert parser.parse_args(["--config", "a.toml", "bot", "rotate", "A"]).config == "a.toml"
    assert parser.parse_args(["status"]).config is None


def test_without_config_anywhere_a_command_exits_78_saying_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOBOT_CONFIG", raising=False)
    if Path("/etc/autobot/autobot.toml").exists():
        pytest.skip("this machine has /etc/autobot/autobot.toml")
    assert main(["actions", "retry", "close:1:0"]) == EX_CONFIG
    err = capsys.readouterr().err
    assert ".autobot/autobot.toml" in err and "/etc/autobot/autobot.toml" in err
    assert "AUTOBOT_CONFIG" in err


def test_autobot_config_names_the_file_when_no_flag_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = valid_config(tmp_path)
    monkeypatch.chdir(tmp_path.parent)
    monkeypatch.setenv("AUTOBOT_CONFIG", str(source))
    assert main(["check-config"]) == 0
    assert f"({source}, $AUTOBOT_CONFIG)" in capsys.readouterr().out


def test_the_checkout_config_is_found_from_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".autobot").mkdir()
    source = valid_config(tmp_path / ".autobot")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOBOT_CONFIG", raising=False)
    assert source.name == "autobot.toml"
    assert main(["check-config"]) == 0
    assert "found at .autobot/autobot.toml" in capsys.readouterr().out


def test_keygen_writes_a_0600_key_prints_its_address_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "operator-a.key"
    assert main(["keygen", str(path)]) == 0
    out = capsys.readouterr().out
    assert path.stat().st_mode & 0o777 == 0o600
    key = path.read_text().strip()
    assert len(key) == 64 and key not in out  # the key itself is never printed
    assert f"address: {Signer.from_private_key_hex(key).address}" in out
    assert main(["keygen", str(path)]) == 1
    assert "never overwrites" in capsys.readouterr().err
    assert path.read_text().strip() == key


def test_check_config_says_when_the_journal_folder_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = valid_config(tmp_path)
    source.write_text(source.read_text().replace('"journal.sqlite3"', '"nowhere/journal.sqlite3"'))
    assert main(["check-config", str(source)]) == EX_CONFIG
    assert (
        f"journal.path: its folder {tmp_path / 'nowhere'} does not exist" in capsys.readouterr().err
    )


def test_check_config_lists_every_problem_of_one_key_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = valid_config(tmp_path)
    bad = tmp_path / "a.key"
    bad.write_text("not a key\n")
    bad.chmod(0o644)
    assert main(["check-config", "--json", str(source)]) == EX_CONFIG
    report = json.loads(capsys.readouterr().out)
    mine = [p["message"] for p in report["problems"] if p["path"] == "keys.operator_key_files.A"]
    assert len(mine) == 2
    assert "mode 0644" in mine[0] and "not a hex ed25519 private key" in mine[1]
    assert report["ok"] is False
