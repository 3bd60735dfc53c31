"""``[status]``: off by default, a bare port means loopback, mistakes named by dotted path."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_config import minimal, parse, paths, problems_of, with_

from autobot.config import ListenAddress, StatusConfig
from autobot.config_check import check_config_command
from autobot.errors import EX_CONFIG
from autobot.status.site import with_status_listen


def test_the_status_page_is_off_by_default() -> None:
    status = parse(minimal()).status
    assert status == StatusConfig()
    assert status.listen is None
    assert (status.max_age_seconds, status.page_refresh_seconds) == (120, 60.0)


@pytest.mark.parametrize("listen", [8080, "8080", ":8080"])
def test_a_bare_port_listens_on_loopback(listen: Any) -> None:
    status = parse(with_("status", listen=listen)).status
    assert status.listen == ListenAddress(host="127.0.0.1", port=8080)


@pytest.mark.parametrize(
    ("listen", "host"), [("0.0.0.0:8080", "0.0.0.0"), ("[::1]:8080", "::1"), ("status.local:80", "status.local")]
)  # fmt: skip
def test_a_host_may_be_given_the_page_is_public(listen: str, host: str) -> None:
    assert parse(with_("status", listen=listen)).status.listen.host == host  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("values", "path"),
    [
        ({"listen": "localhost"}, "status.listen"),
        ({"listen": "127.0.0.1:70000"}, "status.listen"),
        ({"listen": True}, "status.listen"),
        ({"listen": ":"}, "status.listen"),
        ({"max_age_seconds": -1}, "status.max_age_seconds"),
        ({"max_age_seconds": 1.5}, "status.max_age_seconds"),
        ({"page_refresh_seconds": 0}, "status.page_refresh_seconds"),
        ({"page_refresh_seconds": "60"}, "status.page_refresh_seconds"),
        ({"refresh_seconds": 60}, "status.refresh_seconds"),
    ],
)
def test_a_wrong_status_setting_is_named_by_its_dotted_path(
    values: dict[str, Any], path: str
) -> None:
    assert paths(problems_of(with_("status", **values))) == [path]


def test_check_config_exits_78_on_a_bad_status_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "autobot.toml"
    source.write_text('[chain]\nrpc_urls = ["http://127.0.0.1:1/"]\nchain_id = 77\n'
                      'package_address = "0x1"\n[keys]\nadmin_key_file = "a.key"\n'
                      'operator_key_files = { A = "b.key" }\n[status]\nlisten = "nowhere"\n')  # fmt: skip
    assert check_config_command(argparse.Namespace(path=str(source))) == EX_CONFIG
    assert any(line.startswith("status.listen") for line in capsys.readouterr().err.splitlines())


def test_status_listen_on_the_command_line_replaces_the_configs() -> None:
    config = parse(with_("status", listen="127.0.0.1:1", max_age_seconds=5))
    changed = with_status_listen(config, ("127.0.0.1", 8080))
    assert changed.status.listen == ListenAddress(host="127.0.0.1", port=8080)
    assert changed.status.max_age_seconds == 5
    assert with_status_listen(config, None) is config


def test_the_example_config_documents_every_status_key() -> None:
    text = (Path(__file__).resolve().parents[3] / "config" / "autobot.example.toml").read_text()
    section = text[text.index("[status]") :]
    for key in ("listen", "max_age_seconds", "page_refresh_seconds"):
        assert f"{key} = " in section, key
