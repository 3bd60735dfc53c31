"""Where the tests get PostgreSQL: ``$AUTOBOT_TEST_PG_DSN``'s server, or a throwaway cluster from
Debian's binaries; with neither, the answer says how to get it (``make test`` asks first, and a test
that needs PostgreSQL fails with the same words, never skips)."""

from __future__ import annotations

import pytest

from autobot.journal import pgserver
from autobot.journal.pgserver import ENV_DSN, PostgresUnavailable, availability, postgres_server


def test_a_server_named_by_the_environment_is_used() -> None:
    assert availability({ENV_DSN: "host=db1 dbname=postgres"}) == f"the server of {ENV_DSN}"


def test_without_binaries_or_a_server_the_answer_says_how_to_get_postgresql(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given: no initdb anywhere, no server named
    monkeypatch.setattr(pgserver, "_binaries", lambda: None)
    monkeypatch.delenv(ENV_DSN, raising=False)
    # when / then
    with pytest.raises(
        PostgresUnavailable, match=r"apt-get install postgresql.*AUTOBOT_TEST_PG_DSN"
    ):
        availability({})
    assert pgserver.main() == 1
    assert "make test: no PostgreSQL server binaries" in capsys.readouterr().err
    with (
        pytest.raises(PostgresUnavailable, match="apt-get install postgresql"),
        postgres_server(environ={}),
    ):
        pass


def test_a_named_server_that_does_not_answer_is_reported_with_how_to_get_one(
    tmp_path: object,
) -> None:
    nowhere = {ENV_DSN: f"host={tmp_path} port=5999 dbname=x connect_timeout=2"}
    with (
        pytest.raises(PostgresUnavailable, match=r"does not answer.*apt-get install postgresql"),
        postgres_server(environ=nowhere),
    ):
        pass
