"""Logging: one JSON/console pipeline for structlog and stdlib, with redaction of key material."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from autobot.logs import REDACTED, SecretRedactor, configure_logging, register_secret

SECRET = "9c" * 32
ADDRESS = "0x" + "ab" * 32


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    for name in ("apscheduler", "aiohttp.access"):
        logging.getLogger(name).setLevel(logging.NOTSET)
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()


def json_lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_structlog_events_are_json_lines_with_an_iso_utc_timestamp() -> None:
    out = io.StringIO()
    configure_logging(log_format="json", stream=out)

    structlog.get_logger("autobot.test").info("action_submitted", action_id=7, tx_hash="0xaa")

    (line,) = json_lines(out)
    assert line["event"] == "action_submitted"
    assert (line["action_id"], line["tx_hash"]) == (7, "0xaa")
    assert (line["level"], line["logger"]) == ("info", "autobot.test")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", line["timestamp"])


def test_auto_format_writes_json_when_the_stream_is_not_a_terminal() -> None:
    out = io.StringIO()
    configure_logging(stream=out)
    structlog.get_logger().info("sweep_finished")
    assert json_lines(out)[0]["event"] == "sweep_finished"


def test_console_format_renders_for_humans() -> None:
    out = io.StringIO()
    configure_logging(log_format="console", stream=out)
    structlog.get_logger().warning("guard_refused", guard="timelock")
    text = out.getvalue()
    assert "guard_refused" in text and "guard=timelock" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_bound_context_variables_appear_in_every_event() -> None:
    out = io.StringIO()
    configure_logging(log_format="json", stream=out)
    structlog.contextvars.bind_contextvars(lottery_id=4)

    structlog.get_logger().info("draw_requested")
    logging.getLogger("aiosqlite").warning("slow_commit")

    assert [line["lottery_id"] for line in json_lines(out)] == [4, 4]


def test_stdlib_records_go_through_the_same_renderer() -> None:
    out = io.StringIO()
    configure_logging(log_format="json", stream=out)

    logging.getLogger("apscheduler.scheduler").warning("Run time of job %r was missed", "sweep")

    (line,) = json_lines(out)
    assert line["event"] == "Run time of job 'sweep' was missed"
    assert (line["level"], line["logger"]) == ("warning", "apscheduler.scheduler")
    assert line["timestamp"].endswith("Z")


def test_the_level_filters_structlog_and_stdlib_alike() -> None:
    out = io.StringIO()
    configure_logging(level="warning", log_format="json", stream=out)

    structlog.get_logger().info("hidden")
    logging.getLogger("aiohttp.client").info("hidden too")
    structlog.get_logger().warning("shown")

    assert [line["event"] for line in json_lines(out)] == ["shown"]


def test_chatty_third_party_info_logs_are_quiet_unless_debug() -> None:
    out = io.StringIO()
    configure_logging(log_format="json", stream=out)
    logging.getLogger("aiohttp.access").info("GET /metrics 200")
    logging.getLogger("apscheduler.executors.default").info("Running job sweep")
    assert json_lines(out) == []

    configure_logging(level="debug", log_format="json", stream=out)
    logging.getLogger("aiohttp.access").info("GET /metrics 200")
    assert [line["event"] for line in json_lines(out)] == ["GET /metrics 200"]


def test_exceptions_are_rendered_as_plain_tracebacks() -> None:
    out = io.StringIO()
    configure_logging(log_format="json", stream=out)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        structlog.get_logger().exception("job_failed")
    (line,) = json_lines(out)
    assert "Traceback" in line["exception"] and "RuntimeError: boom" in line["exception"]


def test_configuring_twice_installs_one_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(log_format="json", stream=first)
    configure_logging(log_format="json", stream=second)
    structlog.get_logger().info("once")
    assert first.getvalue() == "" and len(json_lines(second)) == 1


def test_capture_logs_sees_event_names_and_values() -> None:
    configure_logging(log_format="json", stream=io.StringIO())
    with capture_logs() as logs:
        structlog.get_logger().info("action_submitted", action_id=3)
    assert logs == [{"event": "action_submitted", "action_id": 3, "log_level": "info"}]


# ---------------------------------------------------------------------------------------------
# Redaction


def test_a_registered_secret_is_redacted_wherever_it_appears() -> None:
    out = io.StringIO()
    configure_logging(log_format="json", stream=out)
    assert register_secret(SECRET)

    class Holder:
        def __repr__(self) -> str:
            return f"Holder({SECRET})"

    log = structlog.get_logger()
    log.info(f"event mentions 0x{SECRET}")
    log.info("nested", detail={"inner": [f"x{SECRET.upper()}y"]}, obj=Holder())
    logging.getLogger("httpx").warning("stdlib says %s", SECRET)
    try:
        raise ValueError(SECRET)
    except ValueError:
        log.exception("failed")

    text = out.getvalue()
    assert SECRET not in text.lower()
    lines = json_lines(out)
    assert lines[0]["event"] == f"event mentions {REDACTED}"
    assert lines[1]["detail"] == {"inner": [f"x{REDACTED}y"]}
    assert lines[1]["obj"] == f"Holder({REDACTED})"
    assert lines[2]["event"] == f"stdlib says {REDACTED}"
    assert f"ValueError: {REDACTED}" in lines[3]["exception"]


def test_a_registered_key_is_redacted_as_base64_and_as_a_bytes_repr_too() -> None:
    # given: a key spelled the ways a library might put it into an exception or a repr
    out = io.StringIO()
    configure_logging(log_format="json", stream=out)
    register_secret(SECRET)
    raw = bytes.fromhex(SECRET)
    spelled = [
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        repr(raw),
    ]
    # when
    try:
        raise ValueError(" ".join(spelled))
    except ValueError:
        structlog.get_logger().exception("failed", seen=spelled)
    # then
    text = out.getvalue()
    for spelling in spelled:
        assert spelling.strip("=") not in text and json.dumps(spelling)[1:-1] not in text
    assert text.count(REDACTED) >= 6


def test_console_rendering_redacts_registered_secrets_too() -> None:
    out = io.StringIO()
    configure_logging(log_format="console", stream=out)
    register_secret("0x" + SECRET)
    structlog.get_logger().info("loaded", note=SECRET)
    assert SECRET not in out.getvalue() and REDACTED in out.getvalue()


def test_hex_in_a_field_named_like_a_key_is_redacted_even_unregistered() -> None:
    out = io.StringIO()
    configure_logging(log_format="json", stream=out)
    other = "5e" * 32
    structlog.get_logger().info(
        "oops",
        private_key="0x" + other,
        secret_seed=other.encode(),
        admin_key_address=ADDRESS,
        lottery_id=1,
        tx_hash="0x" + other,
    )
    (line,) = json_lines(out)
    assert line["private_key"] == REDACTED
    assert line["secret_seed"] == REDACTED
    assert line["admin_key_address"] == ADDRESS  # an address is public
    assert line["tx_hash"] == "0x" + other  # not a key-like name


def test_secrets_survive_reconfiguration() -> None:
    out = io.StringIO()
    configure_logging(log_format="json", stream=io.StringIO())
    register_secret(SECRET)
    configure_logging(level="debug", log_format="json", stream=out)
    structlog.get_logger().info(SECRET)
    assert json_lines(out)[0]["event"] == REDACTED


def test_register_secret_without_configured_logging_reports_false() -> None:
    assert register_secret(SECRET) is False


def test_short_strings_are_not_registered_as_secrets() -> None:
    redactor = SecretRedactor()
    redactor.register("0x1234")
    redactor.register("abc")
    assert redactor.secrets == frozenset()
    assert redactor(None, "info", {"event": "0x1234 abc"}) == {"event": "0x1234 abc"}


def test_the_redactor_leaves_ordinary_events_alone() -> None:
    redactor = SecretRedactor()
    redactor.register(SECRET)
    event = {"event": "action_submitted", "action_id": 3, "ok": True, "ratio": 0.5, "none": None}
    assert redactor(None, "info", dict(event)) == event


def test_objects_are_rendered_by_repr_never_by_str() -> None:
    # supra_sdk's PrivateKey.__str__ returns its hex; an object must never reach str().
    class StrLeaks:
        def __str__(self) -> str:
            return "5e" * 32

        def __repr__(self) -> str:
            return "StrLeaks()"

    out = io.StringIO()
    configure_logging(log_format="json", stream=out)
    structlog.get_logger().info("careless", thing=StrLeaks())
    assert json_lines(out)[0]["thing"] == "StrLeaks()"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_story_line_is_plain_text_on_a_console_and_every_field_in_json() -> None:
    console = _Terminal()
    configure_logging(log_format="console", stream=console, colors=False)
    structlog.get_logger("t").info("lottery_changed", story="lottery 3: cancelled", lottery_id=3)
    line = console.getvalue().strip()
    assert line.endswith("lottery 3: cancelled")
    assert "lottery_id" not in line and "lottery_changed" not in line
    out = io.StringIO()
    configure_logging(log_format="json", stream=out)
    structlog.get_logger("t").info("lottery_changed", story="lottery 3: cancelled", lottery_id=3)
    (record,) = json_lines(out)
    assert record["event"] == "lottery_changed" and record["lottery_id"] == 3
    assert record["story"] == "lottery 3: cancelled"


def test_no_color_turns_colours_off_even_on_a_terminal() -> None:
    from autobot.config import command_environment

    assert command_environment({"NO_COLOR": "1"}).no_color
    assert not command_environment({"NO_COLOR": ""}).no_color
    coloured, plain = _Terminal(), _Terminal()
    configure_logging(log_format="console", stream=coloured)
    structlog.get_logger("t").warning("something_happened", detail="x")
    configure_logging(log_format="console", stream=plain, colors=False)
    structlog.get_logger("t").warning("something_happened", detail="x")
    assert "\x1b[" in coloured.getvalue()
    assert "\x1b[" not in plain.getvalue()
