"""Fixtures for dashboard tests: a served app on SQLite with a movable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.dashboard.harness import Site, start_site, stop_site


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    """The real app serving on a free port, background work off."""
    running = await start_site(tmp_path)
    try:
        yield running
    finally:
        await stop_site(running)
