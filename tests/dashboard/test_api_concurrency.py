"""A case system's import loop: many API writers at once, and the audit chain stays one."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import Session

from consent import audit
from tests.dashboard.harness import start_site, stop_site
from tests.dashboard.test_api import Api

WRITERS = 16
CASES = 200


async def test_sixteen_concurrent_api_writers_create_every_case_and_one_verified_chain(
        tmp_path: Path, db_url: str) -> None:
    # Arrange
    site = await start_site(tmp_path, database_url=db_url)
    try:
        site.user("anna@kommune.dk")
        clients = [Api(site, "anna@kommune.dk") for _ in range(WRITERS)]

        async def writer(number: int) -> list[int]:
            statuses = []
            for i in range(number, CASES, WRITERS):
                status, _ = await clients[number].call("POST", "/cases", {
                    "ref": f"K-{i}", "child_name": f"Barn {i}", "birth_date": "2014-05-31"})
                statuses.append(status)
            return statuses

        # Act
        results = await asyncio.gather(*(writer(n) for n in range(WRITERS)))

        # Assert
        with Session(site.rt.engine) as session:
            report = audit.verify(session)
        statuses = [status for result in results for status in result]
        assert statuses == [201] * CASES
        assert report.ok, report.reason
        assert report.entries >= CASES
    finally:
        await stop_site(site)
