"""All tables; importing this module registers them on SQLModel.metadata."""

from storage.models.base import UTCDateTime, new_id, utcnow
from storage.models.governance import AuditEntry, Consent, DataKey, Throttle
from storage.models.messaging import InboxMessage, OutboxMessage
from storage.models.people import Case, Goal, Invite, Participant, User
from storage.models.schedule import DuePrompt, Meeting
from storage.models.survey import Alert, Answer, Conversation, FreeText

__all__ = [
    "Alert",
    "Answer",
    "AuditEntry",
    "Case",
    "Consent",
    "Conversation",
    "DataKey",
    "DuePrompt",
    "FreeText",
    "Goal",
    "InboxMessage",
    "Invite",
    "Meeting",
    "OutboxMessage",
    "Participant",
    "Throttle",
    "UTCDateTime",
    "User",
    "new_id",
    "utcnow",
]
