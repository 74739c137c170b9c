"""Errors the repository raises, each with a message an operator or caseworker can act on."""


class NotFound(LookupError):
    """A case, participant or user does not exist (or is not visible to the caller)."""


class Conflict(ValueError):
    """The change contradicts what is stored (a duplicate e-mail, a fourth goal, ...)."""
