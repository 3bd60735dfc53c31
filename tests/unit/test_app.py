"""``autobot run`` refuses to start on configuration mistakes (78, every problem listed), keeps
``--listen`` on loopback unless the config allows otherwise, and turns a crash into exit 70 with
the traceback in the redacting log pipeline, never printed raw."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import structlog

from autobot import app
from autobot.chain.signer import Signer
from autobot.cli import main
from autobot.errors import EX_CONFIG, EX_IOERR, EX_SOFTWARE
from autobot.journal.protocol import Lease
from autobot.logs import configure_logging, register_secret
from autobot.scheduling import ChainClockMap, SweepScheduler

SECRET = "5e" * 32


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    structlog.reset_defaults()


def write_config(folder: Path, *, extra: str = "", chain_id: str = "77") -> Path:
    keys = {name: os.urandom(32).hex() for name in ("admin", "a")}
    for name, key in keys.items():
        path = folder / f"{name}.key"
        path.write_text(key + "\n")
        path.chmod(0o600)
    source = folder / "autobot.toml"
    source.write_text(
        f"""\
[chain]
rpc_urls = ["http://127.0.0.1:9/"]
chain_id = {chain_id}
package_address = "{Signer.from_private_key_hex(keys["admin"]).address}"

[keys]
admin_key_file = "admin.key"
operator_key_files = {{ A = "a.key" }}

[journal]
path = "journal.sqlite3"
{extra}"""
    )
    return source


def test_run_lists_config_and_key_file_problems_together_and_exits_78(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given: a config mistake, a remote listener, and a world-readable operator key
    source = write_config(tmp_path, chain_id="true", extra='\n[http]\nlisten = "0.0.0.0:9464"\n')
    (tmp_path / "a.key").chmod(0o644)
    # when
    code = main(["run", "--config", str(source)])
    # then: one round of fixes, nothing started
    err = capsys.readouterr().err
    assert code == EX_CONFIG
    assert f"{source}: 3 configuration problem(s)" in err
    for path in ("chain.chain_id:", "http.listen:", "keys.operator_key_files.A:"):
        assert any(line.strip().startswith(path) for line in err.splitlines()), err
    assert "mode 0644" in err
    assert not (tmp_path / "journal.sqlite3").exists()


def test_run_with_only_a_key_problem_exits_78_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_config(tmp_path)
    (tmp_path / "admin.key").chmod(0o640)
    assert main(["run", "--config", str(source)]) == EX_CONFIG
    err = capsys.readouterr().err
    assert "keys.admin_key_file: has mode 0640" in err
    assert not (tmp_path / "journal.sqlite3").exists()


def test_run_with_ha_and_an_unreachable_database_exits_74_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given: a valid HA config (PostgreSQL journal), which check-config accepts
    source = write_config(
        tmp_path,
        extra='backend = "postgres"\ndsn = "host=/nonexistent dbname=j"\n\n[ha]\nenabled = true\n',
    )
    assert main(["check-config", str(source)]) == 0
    # when / then: without its journal an instance neither leads nor stands by
    assert main(["run", "--config", str(source)]) == EX_IOERR
    assert "postgresql://[/nonexistent]/j" in capsys.readouterr().err


@pytest.mark.parametrize("listen", ["0.0.0.0:0", "[::]:0", "192.0.2.1:9464"])
def test_a_non_loopback_listen_override_needs_allow_remote_and_exits_78(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], listen: str
) -> None:
    source = write_config(tmp_path)
    assert main(["run", "--config", str(source), "--listen", listen]) == EX_CONFIG
    err = capsys.readouterr().err
    assert "--listen: not a loopback address; set [http] allow_remote = true" in err
    assert not (tmp_path / "journal.sqlite3").exists()


def test_the_listen_override_follows_the_configs_allow_remote(tmp_path: Path) -> None:
    allowed = app.load_config(write_config(tmp_path, extra="\n[http]\nallow_remote = true\n"))
    strict = app.load_config(write_config(tmp_path))
    app._check_listen_override(("0.0.0.0", 0), allowed)
    app._check_listen_override(("::1", 0), strict)
    app._check_listen_override(("localhost", 0), strict)
    app._check_listen_override(None, strict)
    with pytest.raises(app.ConfigError):
        app._check_listen_override(("::", 0), strict)


def test_the_default_listener_is_loopback(tmp_path: Path) -> None:
    config = app.load_config(write_config(tmp_path))
    assert (config.http.listen.host, config.http.listen.port) == ("127.0.0.1", 9464)
    assert not config.http.allow_remote


def test_a_crash_exits_70_with_its_traceback_logged_and_redacted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given: a bug deep in the daemon whose exception text carries key material
    out = io.StringIO()

    async def crashing_run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
        configure_logging(log_format="json", stream=out)
        register_secret(SECRET)  # what loading a key file does

        def deep() -> None:
            raise RuntimeError(f"signer state {SECRET} / 0x{SECRET.upper()}")

        deep()
        return 0

    monkeypatch.setattr(app, "_run", crashing_run)
    # when
    code = app.run_command(argparse.Namespace(config="x.toml", listen=None))
    # then
    assert code == EX_SOFTWARE
    logged = out.getvalue()
    (line,) = [json.loads(x) for x in logged.splitlines() if "daemon_crashed" in x]
    assert line["level"] == "critical" and line["error"] == "RuntimeError"
    assert "Traceback" in line["exception"] and "in deep" in line["exception"]
    assert "[redacted]" in line["exception"]
    captured = capsys.readouterr()
    for text in (logged, captured.out, captured.err):
        assert SECRET not in text.lower()
    assert "crashed (RuntimeError)" in captured.err


def test_the_daemon_binds_the_configured_loopback_default_without_an_override(
    tmp_path: Path,
) -> None:
    config = app.load_config(write_config(tmp_path))
    daemon = app.Daemon(config=config, keyring=app.load_keyring(config))
    assert daemon._listen == ("127.0.0.1", 9464)  # reaching in: binding it would need the port


def test_embedded_mode_refuses_a_non_loopback_listen_with_78(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "--state-dir", str(tmp_path / "state"), "--listen", "0.0.0.0:0"])
    assert code == EX_CONFIG
    assert "http.listen: not a loopback address" in capsys.readouterr().err
    assert not (tmp_path / "state" / "journal.sqlite3").exists()


async def test_a_takeover_recovers_alone_and_then_has_every_kept_lottery_read_again(
    tmp_path: Path,
) -> None:
    # given: a standby sweep reading the chain when this instance takes the lease over
    config = app.load_config(write_config(tmp_path))
    daemon = app.Daemon(config=config, keyring=app.load_keyring(config))
    order: list[str] = []
    release = asyncio.Event()

    async def standby_sweep() -> None:
        order.append("standby sweep starts")
        await release.wait()
        order.append("standby sweep keeps the views it read")

    scheduler = SweepScheduler(
        sweep=standby_sweep, poll_interval_seconds=3600, clock_map=ChainClockMap(), wall=time.time
    )

    class Watchlist:  # the takeover's side of it
        async def flush(self) -> None:
            order.append("every kept lottery to read again")

    async def recover() -> None:
        order.append("recovery")
        await scheduler.run_once()  # a sweep asked for meanwhile waits for the takeover

    # reaching in: the parts a takeover uses, without a chain or a database
    daemon._scheduler = scheduler
    daemon._watchlist = Watchlist()  # type: ignore[assignment]
    daemon._recover = recover  # type: ignore[method-assign]
    in_progress = asyncio.create_task(scheduler.run_once())
    await asyncio.sleep(0)
    lease = Lease(epoch=2, holder="b", expires_at=None, acquired=True, took_over=True)
    takeover = asyncio.create_task(daemon._take_over(lease))
    await asyncio.sleep(0.01)
    # then: the recovery waits for the standby sweep in progress (whose views may predate what
    # the recovery finishes) ...
    assert order == ["standby sweep starts"]
    release.set()
    await asyncio.gather(in_progress, takeover)
    # ... and no sweep runs between the recovery and the watchlist's re-read of every lottery
    assert order == [
        "standby sweep starts",
        "standby sweep keeps the views it read",
        "recovery",
        "every kept lottery to read again",
    ]
