"""The weekly digest and the urgent e-mail, delivered to a real SMTP server on localhost."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from PIL import Image

from reports.digest import Caseworker, build_digest
from reports.mailer import Mailer
from reports.model import CaseData, Comment, ItemAnswer, PromptOutcome, Rater, SafetyEvent
from reports.urgent import build_urgent_alert
from tests.reports.builders import (
    CHILD_ID,
    PARENT_ID,
    make_case,
    outcomes,
    sessions,
    week,
)
from tests.reports.conftest import SmtpServer

NOW = week(12)  # Tuesday 24 November 2026: ISO week 48
PUBLIC = "https://stemme.kommune.example"
SENDER = "Stemme <stemme@kommune.example>"
SECRET_WORDS = "Jeg vil flytte hjemmefra"
PARENT_NAME = "Mor Jensen"
GOAL_TEXT = "Komme i skole hver dag"


def _case(ref: str, answers: list[ItemAnswer], **kw: Any) -> CaseData:
    case = make_case(answers, ref=ref, case_id=f"id-{ref.lower()}", goal_ids=["goal-1"], **kw)
    # Names, goal texts and the child's words exist in the data, and must stay out of mail.
    return replace(
        case,
        raters=(Rater(CHILD_ID, "child", "Emil"), Rater(PARENT_ID, "parent", PARENT_NAME)),
        comments=(Comment(week(1), CHILD_ID, "child", SECRET_WORDS),),
        goals=tuple(replace(g, text=GOAL_TEXT) for g in case.goals),
    )


def _cases() -> list[CaseData]:
    good = outcomes(CHILD_ID, [20, 27, 28])
    return [
        _case("SAG-OK", good),
        _case(
            "SAG-MISS",
            good,
            prompts=[PromptOutcome(week(n), PARENT_ID, n == 9) for n in range(9, 12)],
        ),
        _case("SAG-DIV", good + outcomes(PARENT_ID, [None, None, 14])),
        _case("SAG-ALLY", good + sessions(CHILD_ID, [39] * 11 + [34])),
        _case("SAG-NOT", outcomes(CHILD_ID, [20, 21, 22])),
        _case("SAG-SAFE", good, safety=[SafetyEvent(week(11, 3), CHILD_ID)]),
    ]


URGENCY_ORDER = ["SAG-SAFE", "SAG-NOT", "SAG-ALLY", "SAG-DIV", "SAG-MISS", "SAG-OK"]


def _digest(lang: str = "da", graphs: int = 0) -> EmailMessage:
    return build_digest(
        Caseworker("anna@kommune.example", lang),
        _cases(),
        now=NOW,
        public_url=PUBLIC,
        sender=SENDER,
        graphs=graphs,
    )


def _body(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None, f"no text/{kind} part"
    return str(part.get_content())


def _order(text: str) -> list[str]:
    return [m for m in re.findall(r"SAG-[A-Z]+", text) if m in URGENCY_ORDER]


def _assert_digest(message: EmailMessage) -> None:
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    text, markup = plain.get_content(), html.get_content()
    assert _order(text) == URGENCY_ORDER
    assert _order(markup) == URGENCY_ORDER
    for ref in URGENCY_ORDER:
        assert f"{PUBLIC}/cases/id-{ref.lower()}" in text
    cids = set(re.findall(r'src="cid:([^"]+)"', markup))
    images = {
        part["Content-ID"].strip("<>"): part.get_content()
        for part in message.walk()
        if part.get_content_type() == "image/png"
    }
    assert cids and cids == set(images)
    for data in images.values():
        Image.open(io.BytesIO(data)).load()
    raw = message.as_string()
    for secret in (SECRET_WORDS, PARENT_NAME, GOAL_TEXT, "Emil"):
        assert secret not in raw and secret not in text and secret not in markup


async def test_digest_reaches_the_smtp_server_with_both_parts_and_inline_images(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    await Mailer(smtp_server.url, tmp_path).send(_digest())
    (got,) = smtp_server.handler.received
    assert got.rcpt_tos == ["anna@kommune.example"]
    assert got.message["Subject"] == "Stemme: ugeoversigt uge 48"
    _assert_digest(got.message)


def test_digest_lines_say_why_in_danish() -> None:
    text = _body(_digest(), "plain")
    lines = {ref: line for line in text.splitlines() for ref in URGENCY_ORDER if ref in line}
    assert "inden for 24 timer" in lines["SAG-SAFE"]
    assert "ingen pålidelig forbedring" in lines["SAG-NOT"]
    assert "samtalen vurderet 34 (under 36)" in lines["SAG-ALLY"]
    assert "Barn og Forælder er 14 point fra hinanden" in lines["SAG-DIV"]
    assert "Forælder har ikke svaret 2 gange i træk" in lines["SAG-MISS"]
    assert "På rette spor: barnet vurderer 28 (+8 siden start)" in lines["SAG-OK"]
    assert "5 af dine 6 sager kræver opmærksomhed." in text


def test_digest_in_english_on_request() -> None:
    message = _digest("en")
    assert message["Subject"] == "Stemme: weekly overview week 48"
    assert "5 of your 6 cases need attention." in _body(message, "plain")
    _assert_digest(message)


def test_digest_can_carry_the_graph_of_the_most_urgent_case() -> None:
    message = _digest(graphs=1)
    _assert_digest(message)
    markup = _body(message, "html")
    assert len(re.findall(r'src="cid:graph-', markup)) == 1


async def test_without_smtp_the_digest_is_a_parseable_eml_file(tmp_path: Path) -> None:
    delivery = await Mailer(None, tmp_path / "outbox-mail").send(_digest())
    assert delivery.path is not None and delivery.path.suffix == ".eml"
    parsed = BytesParser(policy=policy.default).parsebytes(delivery.path.read_bytes())
    assert isinstance(parsed, EmailMessage)
    _assert_digest(parsed)


def test_a_caseworker_without_cases_gets_a_short_digest() -> None:
    message = build_digest(
        Caseworker("anna@kommune.example"), [], now=NOW, public_url=PUBLIC, sender=SENDER
    )
    text = _body(message, "plain")
    assert "Du har ingen åbne sager." in text
    assert [p.get_content_type() for p in message.walk()] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]


async def test_urgent_alert_reaches_the_server_saying_only_where_to_look(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    case = _cases()[-1]
    message = build_urgent_alert(
        case.case_id,
        recipient="anna@kommune.example",
        sender=SENDER,
        public_url=PUBLIC,
        now=NOW,
    )
    await Mailer(smtp_server.url, tmp_path).send(message)
    (got,) = smtp_server.handler.received
    assert got.message["Subject"] == "Stemme: en sag kræver din opmærksomhed"
    body = _body(got.message, "plain")
    assert "inden for 24 timer" in body
    assert f"{PUBLIC}/cases/{case.case_id}" in body
    raw = got.raw.decode("utf-8", "replace")
    for secret in (SECRET_WORDS, PARENT_NAME, GOAL_TEXT, "Emil", case.ref):
        assert secret not in raw and secret not in body
