"""All tables; importing this module registers them on SQLModel.metadata."""

from storage.models.base import UTCDateTime, new_id, table_of, utcnow
from storage.models.governance import AuditEntry, Consent, DataKey, Throttle
from storage.models.messaging import InboxMessage, Notice, OutboxMessage
from storage.models.organisation import Deputy, ProviderOrg, Team
from storage.models.people import Case, Goal, Invite, Participant, User
from storage.models.schedule import DuePrompt, Meeting
from storage.models.survey import Alert, Answer, Conversation, FreeText
from storage.models.web import ApiToken, LoginAttempt, WebSession

__all__ = [
    "Alert",
    "Answer",
    "ApiToken",
    "AuditEntry",
    "Case",
    "Consent",
    "Conversation",
    "DataKey",
    "Deputy",
    "DuePrompt",
    "FreeText",
    "Goal",
    "InboxMessage",
    "Invite",
    "LoginAttempt",
    "Meeting",
    "Notice",
    "OutboxMessage",
    "Participant",
    "ProviderOrg",
    "Team",
    "Throttle",
    "UTCDateTime",
    "User",
    "WebSession",
    "new_id",
    "table_of",
    "utcnow",
]
