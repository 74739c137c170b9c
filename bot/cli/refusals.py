"""Who the command line acts as, and the English line for each refused case action's code."""

from __future__ import annotations

import getpass

from bot.cli.output import CommandError
from casework.errors import Invalid

# One line per casework.errors.CODES; {names} are the facts the action raised with.
LINES = {
    "ref": "--ref must be 1 to 64 characters",
    "child_name": "--child-name must be 1 to 120 characters",
    "birth_date": "--birth-date must be a day in the last 25 years, not in the future",
    "cadence": "--cadence must be one of {names}",
    "cadence_override": "the cadence override cannot be read",
    "caseworker": "{email} cannot own cases: the user is deactivated",
    "role": "--role is not a participant role",
    "channel": "--channel must be telegram, sms or webchat",
    "language": "--language must be da or en",
    "phone_needed": "an SMS participant needs --phone, e.g. --phone '+45 12 34 56 78'",
    "phone": "{reason}",
    "case_closed": "case {case} is {status}; participants can only join open cases",
    "window": "{reason}",
    "no_invite": "participant {participant} ({channel}, {status}) gets no invite: only chat "
                 "raters (telegram, webchat) who take part do",
    "guardian_child": "--guardian-consent is for a child; the participant is a {role}",
    "guardian_age": "the child is {age}: from 15 a child decides alone, and is asked in the chat",
    "cannot_ask": "participant {participant} cannot be asked: they are {status}, the case is "
                  "{case_status}",
    "goals": "a case holds at most 3 goals of at most 200 characters each",
    "minutes": "--minutes must be between 1 and 1440",
    "session_time": "--at must be at most a day ago and at most three years ahead",
    "series": "--every and --until go together, e.g. --every 1w --until 2027-03-01 (the last "
              "day on or after --at)",
    "format": "--format must be one of {formats}",
    "email": "{email} is not an e-mail address",
    "user_role": "--role must be one of {roles}",
    "user_exists": "a user with e-mail {email} already exists",
    "password": "the password must be at least {minimum} characters long",
    "alert_note": "an assessment needs a note (at most {limit} characters): say what was done "
                  "or decided",
    "not_their_case": "{email} cannot assess alerts of case {case}: it is not their case",
    "case_not_open": "case {case} is {status}; only an open case can be closed",
    "case_not_closed": "case {case} is {status}; only a closed case can be reopened",
    "close_reason": "--reason must be at most {limit} characters",
    "handover_to": "{email} cannot take over cases: there is no active user with that e-mail",
    "handover_same": "the case is {email}'s already",
    "handover_needed": "{email} owns {count} open case(s): name who takes them over with "
                       "--handover-to E",
    "current_password": "the current password is not right",
    "password_repeat": "the two new passwords differ",
    "reset_link": "the reset link does not work: it is wrong, used or expired; make a new one "
                  "with: stemme user reset-password --email E",
    "already_asked": "nothing sent: participant {participant} was asked at {since} and has not "
                     "answered yet (that survey ends by itself at {until})",
    "ask_queued": "nothing sent: participant {participant} is already to be asked at {due} "
                  "(the first minute their hours allow)",
    "rates": "--rates must be sessions or cadence",
    "org_name": "--name must be 1 to {limit} characters",
    "org_exists": "{name!r} exists already",
    "team": "there is no team {name!r}; create it with: stemme team add --name NAME",
    "provider": "there is no provider organisation {name!r}; create it with: stemme provider "
                "add --name NAME",
    "provider_needed": "{email} has the role provider and needs --provider NAME",
    "provider_team": "{email} has the role provider: provider users are in no team",
    "provider_role": "--provider is for users with the role provider; {email} is staff",
    "deputy_user": "{email} cannot be a deputy or be stood in for: there is no active "
                   "caseworker, leader or admin with that e-mail",
    "deputy_same": "{email} cannot stand in for themselves",
    "deputy_period": "--to must be on or after --from, at most {limit} days in all",
}


def actor() -> str:
    """The audit log's actor for the command line: the operating-system user that ran it."""
    return f"cli:{getpass.getuser()}"


def refused(exc: Invalid) -> CommandError:
    """The operator's one line for a refused action (the code itself when it has no line)."""
    line = LINES.get(exc.code)
    if line is None:
        return CommandError(f"refused: {exc.code}")
    if "reason" in exc.facts and "{reason}" not in line:
        line += " ({reason})"
    try:
        return CommandError(line.format(**exc.facts))
    except (KeyError, IndexError):  # a fact the line names was not given: the line without it
        return CommandError(line.split("{", 1)[0].rstrip(" :(") or exc.code)
