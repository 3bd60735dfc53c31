"""The config loader: every key, every problem, by dotted path."""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# psycopg's first import (~150 ms), which parsing a [journal] dsn does lazily, is not what the
# property tests' deadlines measure: imported up front
import autobot.journal.dsn  # noqa: F401
from autobot.config import (
    Config,
    ListenAddress,
    changed_settings,
    load_config,
    parse_config,
)
from autobot.errors import ConfigError, Problem

REPO = Path(__file__).resolve().parents[2]
NO_ENV: dict[str, str] = {}

MINIMAL = """\
[chain]
rpc_urls = ["http://127.0.0.1:27100"]
chain_id = 77
package_address = "0x1"

[keys]
admin_key_file = "admin.key"
operator_key_files = { A = "a.key" }
"""


def minimal() -> dict[str, Any]:
    return {
        "chain": {
            "rpc_urls": ["http://127.0.0.1:27100"],
            "chain_id": 77,
            "package_address": "0x1",
        },
        "keys": {"admin_key_file": "admin.key", "operator_key_files": {"A": "a.key"}},
    }


def parse(
    data: dict[str, Any], source: Path = Path("/etc/autobot/autobot.toml"), **env: str
) -> Config:
    return parse_config(data, source=source, environ=env)


def problems_of(data: dict[str, Any], **env: str) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        parse(data, **env)
    return list(caught.value.problems)


def with_(section: str, **values: Any) -> dict[str, Any]:
    data = minimal()
    data.setdefault(section, {}).update(values)
    return data


def paths(problems: list[Problem]) -> list[str]:
    return [p.path for p in problems]


# ---------------------------------------------------------------------------------------------
# Defaults and normalisation


def test_a_minimal_file_gets_the_documented_defaults(tmp_path: Path) -> None:
    source = tmp_path / "autobot.toml"
    source.write_text(MINIMAL)

    config = load_config(source, environ=NO_ENV)

    assert config.source == source
    assert config.credentials_directory is None
    assert config.chain.request_timeout_seconds == 10.0
    assert config.chain.tx_ttl_seconds == 60
    assert config.chain.max_gas_amount == 500_000
    assert config.chain.gas_unit_price is None
    assert config.chain.submit_window == 8
    assert config.chain.allow_insecure_http is False
    assert config.journal.path == Path("/var/lib/autobot/journal.sqlite3")
    assert config.scheduler.poll_interval_seconds == 15.0
    assert config.scheduler.max_concurrent_actions == 4
    assert config.http.listen == ListenAddress(host="127.0.0.1", port=9464)
    assert config.http.allow_remote is False
    assert (config.log.level, config.log.format) == ("info", "auto")
    assert config.automation.mode == "dry-run" and not config.automation.live
    assert config.automation.grace_period_seconds == 0
    assert config.automation.bot_expiry_warning_seconds == 86_400
    assert config.automation.bot_pending_grace_seconds == 900
    assert config.draws.num_confirmations == 1
    assert config.draws.vrf_deadline_seconds == 3_600
    assert config.draws.cancel_on_vrf_failure is False
    assert config.draws.winners_batch_limit == 100
    assert config.draws.manual_retry_delay_seconds == 600
    assert (config.feeds.assets, config.feeds.fallback_on_stale, config.feeds.fallback_reason) == (
        None,
        False,
        1,
    )
    assert config.refunds.auto_refund is True
    assert config.refunds.batch_size is None
    assert config.refunds.first_batch_sla_seconds == 43_200
    assert config.refunds.complete_sla_seconds == 86_400


@pytest.mark.parametrize(
    "section", ["journal", "scheduler", "http", "log", "automation", "draws", "feeds", "refunds"]
)
def test_an_empty_optional_table_equals_the_default_section(section: str) -> None:
    assert getattr(parse(with_(section)), section) == getattr(parse(minimal()), section)


def test_rpc_urls_get_a_trailing_slash_and_keep_their_path_prefix() -> None:
    config = parse(
        with_("chain", rpc_urls=["HTTPS://rpc.example.com/supra", "http://localhost:27100/"])
    )
    assert config.chain.rpc_urls == ("https://rpc.example.com/supra/", "http://localhost:27100/")


def test_the_package_address_is_normalised_to_64_lowercase_hex_digits() -> None:
    config = parse(with_("chain", package_address="0xABC"))
    assert config.chain.package_address == "0x" + "0" * 61 + "abc"


def test_a_float_setting_takes_an_integer_or_a_fraction() -> None:
    assert parse(with_("scheduler", poll_interval_seconds=2)).scheduler.poll_interval_seconds == 2.0
    assert (
        parse(with_("scheduler", poll_interval_seconds=0.25)).scheduler.poll_interval_seconds
        == 0.25
    )


def test_an_ipv6_listen_address_is_written_in_brackets() -> None:
    listen = parse(with_("http", listen="[::1]:9000")).http.listen
    assert (listen.host, listen.port, str(listen)) == ("::1", 9000, "[::1]:9000")


def test_a_non_loopback_listen_address_is_accepted_with_allow_remote() -> None:
    config = parse(with_("http", listen="0.0.0.0:9464", allow_remote=True))
    assert config.http.listen.host == "0.0.0.0"


def test_feeds_assets_may_name_the_assets_to_watch() -> None:
    assert parse(with_("feeds", assets=[1, 2])).feeds.assets == (1, 2)


def test_operator_key_files_keep_their_names() -> None:
    config = parse(with_("keys", operator_key_files={"A": "a.key", "ops-2": "b.key"}))
    assert list(config.keys.operator_key_files) == ["A", "ops-2"]


def test_config_is_frozen() -> None:
    config = parse(minimal())
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.chain.chain_id = 6  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# Paths


def test_relative_paths_resolve_against_the_config_files_folder() -> None:
    config = parse(
        with_("journal", path="state/journal.sqlite3"), source=Path("/etc/autobot/a.toml")
    )
    assert config.journal.path == Path("/etc/autobot/state/journal.sqlite3")
    assert config.keys.admin_key_file == Path("/etc/autobot/admin.key")
    assert config.keys.operator_key_files["A"] == Path("/etc/autobot/a.key")


def test_relative_key_paths_resolve_against_the_credentials_directory_when_set() -> None:
    config = parse(
        with_("journal", path="j.sqlite3"), CREDENTIALS_DIRECTORY="/run/credentials/autobot.service"
    )
    assert config.credentials_directory == Path("/run/credentials/autobot.service")
    assert config.keys.admin_key_file == Path("/run/credentials/autobot.service/admin.key")
    assert config.keys.operator_key_files["A"] == Path("/run/credentials/autobot.service/a.key")
    assert config.journal.path == Path("/etc/autobot/j.sqlite3")  # only key files use it


def test_absolute_key_paths_ignore_the_credentials_directory() -> None:
    data = with_("keys", admin_key_file="/srv/keys/admin.key")
    assert parse(data, CREDENTIALS_DIRECTORY="/run/c").keys.admin_key_file == Path(
        "/srv/keys/admin.key"
    )


def test_a_relative_credentials_directory_is_a_problem() -> None:
    assert paths(problems_of(minimal(), CREDENTIALS_DIRECTORY="creds")) == [
        "$CREDENTIALS_DIRECTORY"
    ]


def test_a_home_relative_path_is_refused() -> None:
    (problem,) = problems_of(with_("journal", path="~/journal.sqlite3"))
    assert problem.path == "journal.path" and "~" in problem.message


def test_the_relative_path_of_a_relative_config_file_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "autobot.toml").write_text(MINIMAL)
    monkeypatch.chdir(tmp_path)
    config = load_config("autobot.toml", environ=NO_ENV)
    assert config.keys.admin_key_file == tmp_path / "admin.key"


# ---------------------------------------------------------------------------------------------
# Problems


def test_every_problem_is_reported_at_once_by_dotted_path() -> None:
    data = minimal()
    data["chain"]["chain_id"] = 0
    data["chain"]["rpc_urls"] = ["https://a.example/", "ftp://b.example/"]
    data["log"] = {"level": "verbose"}
    data["refunds"] = {"batch_size": -1}

    found = problems_of(data)

    assert paths(found) == [
        "chain.rpc_urls[1]",
        "chain.chain_id",
        "log.level",
        "refunds.batch_size",
    ]
    assert all(p.has_value for p in found)
    assert "log.level: expected one of 'debug', 'info', 'warning', 'error' (got 'verbose')" in [
        p.render() for p in found
    ]


def test_the_config_error_message_lists_every_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        parse(with_("draws", num_confirmations=21, winners_batch_limit=0))
    text = str(caught.value)
    assert "2 configuration problem(s)" in text
    assert "draws.num_confirmations: must be at most 20 (got 21)" in text
    assert "draws.winners_batch_limit: must be at least 1 (got 0)" in text


def test_an_unknown_key_is_reported_with_a_suggestion_and_without_its_value() -> None:
    (problem,) = problems_of(with_("chain", tx_ttl=5))
    assert problem.path == "chain.tx_ttl"
    assert "did you mean 'tx_ttl_seconds'" in problem.message
    assert not problem.has_value


def test_an_unknown_table_is_reported() -> None:
    data = minimal()
    data["metrics"] = {}
    assert [(p.path, p.message) for p in problems_of(data)] == [("metrics", "unknown table")]


def test_missing_required_tables_and_keys_are_reported() -> None:
    assert sorted(paths(problems_of({}))) == ["chain", "keys"]
    data = minimal()
    del data["chain"]["chain_id"]
    del data["keys"]["admin_key_file"]
    found = problems_of(data)
    assert paths(found) == ["chain.chain_id", "keys.admin_key_file"]
    assert all(p.message == "missing required key" for p in found)


def test_a_section_that_is_not_a_table_is_reported() -> None:
    data = minimal()
    data["log"] = "debug"
    (problem,) = problems_of(data)
    assert (problem.path, problem.value) == ("log", "debug")


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("chain", "chain_id", True, "expected an integer, got a boolean"),
        ("chain", "chain_id", 77.0, "expected an integer, got a float"),
        ("chain", "chain_id", "77", "expected an integer, got a string"),
        ("chain", "chain_id", 256, "must be at most 255"),
        ("chain", "max_gas_amount", -1, "must be at least 1"),
        ("chain", "max_gas_amount", 2**64, "must be at most 18446744073709551615"),
        ("chain", "gas_unit_price", 0, "must be at least 1"),
        ("chain", "request_timeout_seconds", 0, "must be greater than 0"),
        ("chain", "allow_insecure_http", 1, "expected true or false, got an integer"),
        ("automation", "grace_period_seconds", -5, "must be at least 0"),
        ("automation", "mode", "LIVE", "expected one of 'live', 'dry-run'"),
        ("scheduler", "poll_interval_seconds", True, "expected a number, got a boolean"),
        ("scheduler", "poll_interval_seconds", math.nan, "expected a finite number"),
        ("scheduler", "poll_interval_seconds", math.inf, "expected a finite number"),
        ("scheduler", "poll_interval_seconds", 10**400, "expected a finite number"),
        ("feeds", "fallback_reason", 256, "must be at most 255"),
        ("feeds", "assets", [1, True], "expected an integer, got a boolean"),
        ("feeds", "assets", "1,2", "expected an array, got a string"),
        ("journal", "path", 5, "expected a file path (a string), got an integer"),
        ("journal", "path", "", "expected a non-empty file path"),
        ("http", "listen", "9464", 'expected "HOST:PORT"'),
        ("http", "listen", "::1:9464", 'expected "HOST:PORT"'),
        ("http", "listen", "localhost:65536", 'expected "HOST:PORT"'),
        ("log", "format", "text", "expected one of 'auto', 'json', 'console'"),
    ],
)
def test_a_wrong_value_is_reported_with_its_path_and_value(
    section: str, key: str, value: object, message: str
) -> None:
    (problem,) = problems_of(with_(section, **{key: value}))
    assert problem.path.startswith(f"{section}.{key}")
    assert message in problem.message
    assert problem.has_value


def test_plain_http_to_a_remote_host_needs_allow_insecure_http() -> None:
    urls = ["http://127.0.0.2/", "http://[::1]:1/", "http://localhost/", "http://rpc.example/"]
    (problem,) = problems_of(with_("chain", rpc_urls=urls))
    assert problem.path == "chain.rpc_urls[3]"
    assert "allow_insecure_http" in problem.message
    assert parse(with_("chain", rpc_urls=urls, allow_insecure_http=True)).chain.rpc_urls[3] == (
        "http://rpc.example/"
    )


def test_plain_http_is_judged_even_when_another_url_is_malformed() -> None:
    found = problems_of(with_("chain", rpc_urls=["http://rpc.example/", "nonsense"]))
    assert sorted(paths(found)) == ["chain.rpc_urls[0]", "chain.rpc_urls[1]"]


def test_credentials_in_an_rpc_url_are_refused_without_echoing_them() -> None:
    (problem,) = problems_of(with_("chain", rpc_urls=["https://user:hunter2@rpc.example/"]))
    assert problem.path == "chain.rpc_urls[0]"
    assert "hunter2" not in problem.render()


@pytest.mark.parametrize(
    "url",
    [
        "rpc.example",
        "ftp://rpc.example/",
        "https://",
        "https://h:0/",
        "https://h:x/",
        "http://[::1",
        "https://h/?a=1",
    ],
)
def test_a_malformed_rpc_url_is_refused(url: str) -> None:
    assert paths(problems_of(with_("chain", rpc_urls=[url]))) == ["chain.rpc_urls[0]"]


def test_an_endpoint_listed_twice_is_refused() -> None:
    found = problems_of(with_("chain", rpc_urls=["https://a/", "https://a"]))
    assert paths(found) == ["chain.rpc_urls[1]"]


def test_an_empty_endpoint_list_is_refused() -> None:
    assert paths(problems_of(with_("chain", rpc_urls=[]))) == ["chain.rpc_urls"]


def test_a_malformed_package_address_is_refused() -> None:
    for bad in ("bc95", "0x", "0xZZ", "0x" + "1" * 65):
        assert paths(problems_of(with_("chain", package_address=bad))) == ["chain.package_address"]


def test_a_non_loopback_listen_address_needs_allow_remote() -> None:
    (problem,) = problems_of(with_("http", listen="0.0.0.0:9464"))
    assert problem.path == "http.listen" and "allow_remote" in problem.message


def test_key_material_pasted_as_a_key_path_is_refused_without_echoing_it() -> None:
    secret = "ab" * 32
    found = problems_of(
        with_("keys", admin_key_file=secret, operator_key_files={"A": "0x" + secret})
    )
    assert paths(found) == ["keys.admin_key_file", "keys.operator_key_files.A"]
    assert all(secret not in p.render() for p in found)


def test_operator_names_are_checked() -> None:
    found = problems_of(
        with_("keys", operator_key_files={"a b": "x.key", "0xA": "y.key", "ok": "z.key"})
    )
    assert paths(found) == ['keys.operator_key_files."a b"', "keys.operator_key_files.0xA"]


def test_at_least_one_operator_is_required() -> None:
    assert paths(problems_of(with_("keys", operator_key_files={}))) == ["keys.operator_key_files"]


def test_one_key_file_cannot_serve_two_roles() -> None:
    found = problems_of(
        with_(
            "keys",
            admin_key_file="k.key",
            operator_key_files={"A": "k.key", "B": "b.key", "C": "b.key"},
        )
    )
    assert paths(found) == ["keys.operator_key_files.A", "keys.operator_key_files.C"]


def test_an_empty_asset_list_or_a_duplicate_asset_is_refused() -> None:
    assert paths(problems_of(with_("feeds", assets=[]))) == ["feeds.assets"]
    assert paths(problems_of(with_("feeds", assets=[1, 2, 1]))) == ["feeds.assets[2]"]


def test_every_duplicate_asset_is_reported_not_only_the_first() -> None:
    found = problems_of(with_("feeds", assets=[1, 2, 1, 3, 2]))
    assert paths(found) == ["feeds.assets[2]", "feeds.assets[4]"]


def test_the_complete_refund_sla_cannot_be_shorter_than_the_first_batch_sla() -> None:
    found = problems_of(with_("refunds", first_batch_sla_seconds=100, complete_sla_seconds=50))
    assert paths(found) == ["refunds.complete_sla_seconds"]


# ---------------------------------------------------------------------------------------------
# Files


def test_a_missing_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.toml", environ=NO_ENV)
    (problem,) = caught.value.problems
    assert problem.path == str(tmp_path / "nope.toml")
    assert "No such file" in problem.message


def test_a_toml_syntax_error_names_the_line_and_column(tmp_path: Path) -> None:
    source = tmp_path / "bad.toml"
    source.write_text('[chain]\nchain_id = 77\nrpc_urls = [1,\n oops = "x"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(source, environ=NO_ENV)
    (problem,) = caught.value.problems
    assert re.fullmatch(re.escape(str(source)) + r":4:\d+", problem.path)
    assert problem.message.startswith("TOML syntax error: ")


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    source = tmp_path / "bin.toml"
    source.write_bytes(b"a = '\xff'")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(source, environ=NO_ENV)


def test_absurdly_nested_arrays_are_a_config_error(tmp_path: Path) -> None:
    source = tmp_path / "deep.toml"
    source.write_text("a = " + "[" * 5000 + "]" * 5000)
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(source, environ=NO_ENV)


def test_the_example_config_loads_and_ships_dry_run() -> None:
    config = load_config(REPO / "config" / "autobot.example.toml", environ=NO_ENV)
    assert config.automation.mode == "dry-run"
    assert config.keys.admin_key_file == REPO / "config" / "admin.key"


def test_the_localnet_config_targets_the_localnet_admin() -> None:
    from autobot.localnet.accounts import dev_accounts

    config = load_config(REPO / "config" / "localnet.toml", environ=NO_ENV)
    assert config.chain.rpc_urls == ("http://127.0.0.1:27100/",)
    assert config.chain.chain_id == 77
    assert config.chain.package_address == dev_accounts().package_address
    assert config.keys.admin_key_file == REPO / "config" / "localnet-keys" / "localnet-admin.key"


def _documented_keys(text: str) -> set[str]:
    """``section.key`` for every ``key = …`` or ``# key = …`` line under a ``[section]``."""
    found: set[str] = set()
    section = ""
    for line in text.splitlines():
        if header := re.fullmatch(r"\[(\w+)\]\s*", line):
            section = header[1]
        elif (key := re.match(r"#?\s?(\w+) = ", line)) and section:
            found.add(f"{section}.{key[1]}")
    return found


def test_the_example_config_documents_every_key() -> None:
    sections = typing.get_type_hints(Config)
    expected = {
        f"{name}.{key.name}"
        for name, hint in sections.items()
        if dataclasses.is_dataclass(hint)
        for key in dataclasses.fields(hint)
    }
    assert _documented_keys((REPO / "config" / "autobot.example.toml").read_text()) == expected


def test_changed_settings_names_the_keys_that_differ() -> None:
    old = parse(minimal())
    new = parse(with_("log", level="debug") | {"draws": {"winners_batch_limit": 7}})
    assert changed_settings(old, new) == ("log.level", "draws.winners_batch_limit")
    assert changed_settings(old, old) == ()


# ---------------------------------------------------------------------------------------------
# Properties: whatever the input, the loader answers with a Config or a ConfigError.

toml_scalars = (
    st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["http://127.0.0.1/", "0x1", "live", "0.0.0.0:1", "[::1]:1", "a.key", "~/x"])
    | st.datetimes()
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
key_names = st.sampled_from(
    [
        "chain",
        "keys",
        "journal",
        "http",
        "log",
        "feeds",
        "refunds",
        "rpc_urls",
        "chain_id",
        "listen",
        "assets",
        "A",
        "x",
    ]
) | st.text(max_size=12)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(key_names, toml_values, max_size=6))
def test_arbitrary_tables_give_a_config_or_a_config_error(data: dict[str, Any]) -> None:
    try:
        parse(data)
    except ConfigError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.path
            problem.render()


def _leaves(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in _leaves(v, (*prefix, k))] + [prefix]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _leaves(v, (*prefix, i))] + [prefix]
    return [prefix]


def _full() -> dict[str, Any]:
    data = minimal()
    for section in (
        "journal",
        "scheduler",
        "http",
        "log",
        "automation",
        "draws",
        "feeds",
        "refunds",
        "ha",
    ):
        data[section] = {
            f.name: getattr(getattr(parse(minimal()), section), f.name)
            for f in dataclasses.fields(getattr(parse(minimal()), section))
            if getattr(getattr(parse(minimal()), section), f.name) is not None  # TOML has no null
        }
    data["journal"]["path"] = "journal.sqlite3"
    data["http"]["listen"] = "127.0.0.1:9464"
    data["feeds"]["assets"] = [1, 2]
    data["refunds"]["batch_size"] = 10
    del data["chain"]  # re-added whole below so every key is present
    data["chain"] = minimal()["chain"] | {"gas_unit_price": 5}
    return data


@settings(max_examples=300)
@given(st.data())
def test_one_wrong_value_anywhere_gives_a_config_error_naming_its_place(
    data: st.DataObject,
) -> None:
    document = _full()
    place = data.draw(st.sampled_from([p for p in _leaves(document) if len(p) >= 2]))
    target: Any = document
    for step in place[:-1]:
        target = target[step]
    target[place[-1]] = data.draw(toml_values)
    try:
        parse(document)
    except ConfigError as exc:
        assert any(p.path.startswith(str(place[0])) for p in exc.problems)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_file_contents_give_a_config_or_a_config_error(
    tmp_path: Path, content: bytes
) -> None:
    source = tmp_path / "fuzz.toml"
    source.write_bytes(content)
    try:
        load_config(source, environ=NO_ENV)
    except ConfigError as exc:
        assert exc.problems


def test_the_fuzzed_document_is_valid_before_it_is_broken() -> None:
    assert parse(_full()).refunds.batch_size == 10
