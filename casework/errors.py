"""The one error a case action raises for a request the caller can correct, with its codes."""

from __future__ import annotations

# Every code an action raises: the dashboard shows `error.<code>` from its catalogue, the
# command line one English line per code (bot/cli/refusals.py).
CODES = (
    "ref", "child_name", "birth_date", "cadence", "cadence_override", "caseworker",
    "role", "channel", "language", "phone_needed", "phone", "case_closed", "window",
    "no_invite", "guardian_child", "guardian_age", "cannot_ask", "goals",
    "minutes", "session_time", "series", "format",
    "email", "user_role", "user_exists", "password",
    "alert_note", "not_their_case",
    "case_not_open", "case_not_closed", "close_reason", "handover_to", "handover_same",
    "handover_needed",
    "current_password", "password_repeat", "reset_link",
    "already_asked", "ask_queued", "rates",
    "org_name", "org_exists", "team", "provider", "provider_needed", "provider_team",
    "provider_role", "deputy_user", "deputy_same", "deputy_period",
)


class Invalid(ValueError):
    """A request the caller can correct: a stable `code`, the field at fault, and facts.

    `facts` name what the command line's line says (an id, an age, a parser's reason); they
    are never shown by the dashboard, whose texts come from the code alone.
    """

    def __init__(self, code: str, field: str | None = None, **facts: object) -> None:
        super().__init__(code)
        self.code = code
        self.field = field
        self.facts = facts
