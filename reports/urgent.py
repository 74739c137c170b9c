"""The urgent e-mail after a safety flag: a case needs attention, a link, nothing else."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from reports.digest import case_link
from reports.i18n import texts


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
    """The e-mail to a caseworker when a child's message was flagged as a possible risk.

    It says only that a case needs attention within `hours` and links to the case in the
    dashboard: no case ref, no names, no words of the child. It may be read on a phone's lock
    screen or forwarded by mistake. Re-sending after 4 hours is the scheduler's job.
    """
    t = texts(lang)
    link = case_link(public_url, case_id)
    domain = sender.rpartition("@")[2].strip("> ") or "stemme.invalid"
    msg = EmailMessage()
    msg["Subject"] = t("Stemme: a case needs your attention")
    msg["From"] = sender
    msg["To"] = recipient
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid("urgent", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg["Importance"] = "high"
    msg["X-Priority"] = "1"
    body = "\n\n".join(
        [
            t("A case needs your attention within %(hours)d hours.", hours=hours),
            t("Open the case in Stemme: %(url)s", url=link),
            t(
                "For safety this e-mail holds no names and nothing anyone wrote; "
                "sign in to see what happened."
            ),
        ]
    )
    msg.set_content(body + "\n")
    return msg
