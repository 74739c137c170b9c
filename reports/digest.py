"""The weekly digest: one multipart e-mail per caseworker, cases ordered by urgency."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from email import policy
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime, make_msgid
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from reports.alerts import CaseStatus, Urgency, case_status
from reports.i18n import Texts, rater_labels, status_line, texts, translations, urgency_name
from reports.model import CHILD, CaseData, Rating
from reports.rules import DEFAULT_RULES, ScoringRules
from reports.scoring import band_on, case_ratings, series
from reports.sparkline import sparkline_png

TEMPLATES = Path(__file__).parent / "templates"
# Group colours in the HTML (Okabe-Ito); the heading text carries the meaning, not the colour.
_COLOURS = ("#D55E00", "#E69F00", "#CC79A7", "#0072B2", "#56B4E9", "#009E73")
SPARK_POINTS = 12  # the child's latest outcome totals in a digest sparkline


@dataclass(frozen=True, slots=True)
class Caseworker:
    """The recipient of a digest; `language` is "da" or "en"."""

    email: str
    language: str = "da"


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One case's line in the digest: never names, never free text."""

    case_id: str
    ref: str
    urgency: Urgency
    why: str
    link: str
    spark: bytes | None
    spark_cid: str | None
    graph_cid: str | None = None


@lru_cache(maxsize=4)
def _environment(lang: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def case_link(public_url: str, case_id: str) -> str:
    """The dashboard address of a case."""
    return f"{public_url.rstrip('/')}/cases/{quote(case_id, safe='')}"


def iso_week(now: datetime, rules: ScoringRules = DEFAULT_RULES) -> int:
    """The ISO week number where the caseworker is."""
    return now.astimezone(rules.tz).isocalendar().week


def _cid(kind: str, data: bytes, domain: str) -> str:
    # Named by content: equal images (common for sparklines) become one attachment.
    return f"{kind}-{hashlib.sha1(data, usedforsecurity=False).hexdigest()[:16]}@{domain}"


def _child_totals(ratings: Sequence[Rating]) -> list[float]:
    totals: list[float] = []
    for rs in series(ratings, "outcome").values():
        if rs[0].rater_role == CHILD:
            totals = [float(r.total) for r in rs if r.total is not None]
    return totals[-SPARK_POINTS:]


def digest_item(
    case: CaseData,
    *,
    now: datetime,
    public_url: str,
    t: Texts,
    rules: ScoringRules = DEFAULT_RULES,
    domain: str = "stemme.invalid",
    status: CaseStatus | None = None,
    ratings: Sequence[Rating] | None = None,
) -> DigestItem:
    """The digest line of one case: its urgency, a one-line why, a link and a sparkline."""
    ratings = case_ratings(case, rules) if ratings is None else ratings
    status = status or case_status(case, now=now, rules=rules, ratings=ratings)
    totals = _child_totals(ratings)
    spark = None
    if totals:
        cutoff = band_on(case.child_birth_date, now, rules).cutoff
        spark = sparkline_png(totals, cutoff=cutoff)
    return DigestItem(
        case_id=case.case_id,
        ref=case.ref,
        urgency=status.urgency,
        why=status_line(status, rater_labels(case.raters, t), t),
        link=case_link(public_url, case.case_id),
        spark=spark,
        spark_cid=_cid("spark", spark, domain) if spark else None,
    )


def inline_png(png: bytes, cid: str) -> MIMEPart:
    """An inline image part referenced from HTML as cid:<cid>.

    Headers are stored raw (they are fixed ASCII): EmailMessage.add_related parses each one
    through the policy and costs ten times as much, which adds up over 25,000 sparklines.
    """
    part = MIMEPart(policy=policy.default)
    part.set_raw("Content-Type", "image/png")
    part.set_raw("Content-Transfer-Encoding", "base64")
    part.set_raw("Content-ID", f"<{cid}>")
    part.set_raw("Content-Disposition", f'inline; filename="{cid.split("@")[0]}.png"')
    part.set_payload(base64.encodebytes(png).decode("ascii"))
    return part


def _order_key(item: DigestItem, status: CaseStatus) -> tuple[Any, ...]:
    newest = status.reasons[0].raised_at.timestamp() if status.reasons else 0.0
    return (item.urgency, -newest, item.ref)


def build_digest(
    caseworker: Caseworker,
    cases: Sequence[CaseData],
    *,
    now: datetime,
    public_url: str,
    sender: str,
    rules: ScoringRules = DEFAULT_RULES,
    lang: str | None = None,
    graphs: int = 0,
    render_graph: Callable[[CaseData, str], bytes] | None = None,
) -> EmailMessage:
    """The weekly digest of one caseworker as a multipart/alternative e-mail.

    Plain text and HTML; the HTML shows each case's sparkline inline by Content-ID. With
    `graphs` > 0 the progression graph of that many of the most urgent flagged cases is
    attached too (about 40 ms each, so off by default; the dashboard link shows it). The
    subject names only the week; the body shows case refs and links, never free text.
    """
    t = texts(lang or caseworker.language)
    domain = sender.rpartition("@")[2].strip("> ") or "stemme.invalid"
    scored: list[tuple[DigestItem, CaseStatus]] = []
    for case in cases:
        ratings = case_ratings(case, rules)
        status = case_status(case, now=now, rules=rules, ratings=ratings)
        item = digest_item(
            case,
            now=now,
            public_url=public_url,
            t=t,
            rules=rules,
            domain=domain,
            status=status,
            ratings=ratings,
        )
        scored.append((item, status))
    scored.sort(key=lambda pair: _order_key(*pair))
    items = [item for item, _ in scored]

    graph_parts: dict[str, bytes] = {}
    if graphs > 0:
        # Imported here: matplotlib loads only when a digest asks for full graphs.
        from reports.graph import render_progress

        draw = render_graph or (
            lambda c, lang_: render_progress(c, "png", rules=rules, lang=lang_)
        )
        by_id = {c.case_id: c for c in cases}
        for i, item in enumerate(items[:graphs]):
            if item.urgency == Urgency.ON_TRACK:
                break
            png = draw(by_id[item.case_id], t.lang)
            cid = _cid("graph", png, domain)
            graph_parts[cid] = png
            items[i] = replace(item, graph_cid=cid)

    groups = []
    for urgency in Urgency:
        members = [i for i in items if i.urgency == urgency]
        if members:
            groups.append(
                {
                    "heading": urgency_name(urgency, t),
                    "colour": _COLOURS[urgency],
                    "cases": members,
                }
            )
    week = iso_week(now, rules)
    subject = t("Stemme: weekly overview week %(week)d", week=week)
    context = {
        "lang": t.lang,
        "subject": subject,
        "week": week,
        "total": len(items),
        "attention": sum(1 for i in items if i.urgency != Urgency.ON_TRACK),
        "groups": groups,
        "dashboard": public_url.rstrip("/") + "/",
    }
    env = _environment(t.lang)
    text = env.get_template("digest.txt").render(context)
    html = env.get_template("digest.html").render(context)

    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = caseworker.email
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid("digest", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    images: dict[str, bytes] = {}
    for item in items:
        if item.spark and item.spark_cid:
            images[item.spark_cid] = item.spark
    images.update(graph_parts)
    if images:
        html_part = next(p for p in msg.iter_parts() if p.get_content_type() == "text/html")
        html_part.make_related()
        for cid, png in images.items():
            html_part.attach(inline_png(png, cid))
    return msg
