"""The e-mails after a safety flag: a case needs attention, how many, a link, nothing else."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Literal

from reports.digest import case_link
from reports.i18n import Texts, texts

# urgent: to the caseworker at once; escalation: to the team when nobody assessed it in time;
# unassigned: to the team at once, because the case's caseworker is deactivated.
NoticeKind = Literal["urgent", "escalation", "unassigned"]


def _subject(kind: NoticeKind, t: Texts) -> str:
    if kind == "escalation":
        return t("Stemme: an urgent case has not been assessed")
    if kind == "unassigned":
        return t("Stemme: a case without an active caseworker needs attention")
    return t("Stemme: a case needs your attention")


def _lead(kind: NoticeKind, t: Texts, hours: int) -> list[str]:
    if kind == "escalation":
        return [t("A case's caseworker was told of an urgent message, and nobody has marked "
                  "it as assessed yet."),
                t("Please make sure someone assesses it today.")]
    lead = [t("A case needs your attention within %(hours)d hours.", hours=hours)]
    if kind == "unassigned":
        lead.append(t("The case's caseworker is no longer active, so this goes to the team."))
    return lead


def build_notice(
    case_id: str,
    *,
    kind: NoticeKind,
    recipient: str,
    sender: str,
    public_url: str,
    now: datetime,
    lang: str = "da",
    hours: int = 24,
    waiting: int = 1,
) -> EmailMessage:
    """A notice to staff about a case with an urgent alert, never with anything anyone wrote.

    It says what kind of notice it is, how many messages in the case await assessment
    (`waiting`) and links to the case in the dashboard: no case ref, no names, no category,
    no words. It may be read on a phone's lock screen or forwarded by mistake.
    """
    t = texts(lang)
    link = case_link(public_url, case_id)
    domain = sender.rpartition("@")[2].strip("> ") or "stemme.invalid"
    msg = EmailMessage()
    msg["Subject"] = _subject(kind, t)
    msg["From"] = sender
    msg["To"] = recipient
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(kind, domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg["Importance"] = "high"
    msg["X-Priority"] = "1"
    count = t.ngettext("%(num)d message in this case awaits assessment.",
                       "%(num)d messages in this case await assessment.", waiting)
    body = "\n\n".join([
        *_lead(kind, t, hours),
        count % {"num": waiting},
        t("Open the case in Stemme: %(url)s", url=link),
        t("For safety this e-mail holds no names and nothing anyone wrote; "
          "sign in to see what happened."),
    ])
    msg.set_content(body + "\n")
    return msg


def build_urgent_alert(
    case_id: str,
    *,
    recipient: str,
    sender: str,
    public_url: str,
    now: datetime,
    lang: str = "da",
    hours: int = 24,
) -> EmailMessage:
    """The e-mail to a caseworker when a child's message was flagged as a possible risk."""
    return build_notice(case_id, kind="urgent", recipient=recipient, sender=sender,
                        public_url=public_url, now=now, lang=lang, hours=hours)
