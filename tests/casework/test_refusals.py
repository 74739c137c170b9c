"""Every refusal's code has a text in both dashboard catalogues and a line on the command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli.refusals import LINES, refused
from casework.errors import CODES, Invalid
from dashboard.i18n import catalogue, error_key

# Codes the dashboard never meets: it shows another's case as absent.
NOT_ON_THE_DASHBOARD = {"not_their_case"}


@pytest.mark.parametrize("lang", ["da", "en"])
def test_every_code_has_a_dashboard_text(lang: str) -> None:
    missing = [c for c in CODES if error_key(c) not in catalogue(lang)
               and c not in NOT_ON_THE_DASHBOARD]

    assert missing == []


def test_every_code_has_a_command_line_line_and_only_those() -> None:
    assert set(LINES) == set(CODES)


def test_the_command_line_says_what_the_facts_are() -> None:
    line = str(refused(Invalid("guardian_age", age=15)))

    assert line == "the child is 15: from 15 a child decides alone, and is asked in the chat"


def test_a_line_whose_facts_are_missing_still_reads() -> None:
    assert str(refused(Invalid("cannot_ask"))) == "participant"
    assert str(refused(Invalid("series", "every", reason="bad"))).endswith("(bad)")


def test_every_code_an_action_raises_is_a_listed_one() -> None:
    root = Path(__file__).resolve().parents[2]
    source = "".join(p.read_text() for folder in ("casework", "dashboard")
                     for p in (root / folder).glob("*.py"))

    raised = set(re.findall(r'Invalid\(\s*"([a-z_]+)"', source))

    assert raised and raised <= set(CODES)
