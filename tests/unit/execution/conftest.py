"""Fixtures of the execution tests: the pipeline over a fake chain and a real journal file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from execution_fakes import Rig, make_rig


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    made = await make_rig(tmp_path)
    yield made
    await made.journal.close()
