"""The published examples (``docs/status-examples``, written by ``make status-examples`` from
the demo) still validate against the schema the daemon serves: a schema change that breaks
them fails here until they are generated again."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from autobot.status.board import load_asset

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "status-examples"
SCHEMA = json.loads(load_asset("status.schema.json"))


def test_the_three_steps_of_the_demo_are_published() -> None:
    names = sorted(p.name for p in EXAMPLES.glob("*.json"))
    assert names == ["01-refund-announced.json", "02-refunded.json", "03-story-told.json"]


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_an_example_validates_against_the_schema(example: Path) -> None:
    document = json.loads(example.read_text())
    errors = [f"{e.json_path}: {e.message}" for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(document)]  # fmt: skip
    assert not errors, f"{example.name} drifted from the schema (make status-examples): {errors}"
