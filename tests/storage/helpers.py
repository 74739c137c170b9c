"""Builders for storage tests: a caseworker, a case and its participants."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from storage.blind_index import BlindIndex
from storage.models import Case, Participant, User
from storage.repo import cases
from storage.repo.users import create_user
from storage.vault import Vault


def make_case(session: Session, vault: Vault, *, name: str = "Sofie Zebrafinke Hansen",
              born: date = date(2014, 5, 31), email: str = "cw@example.org") -> Case:
    """A case owned by a new caseworker."""
    worker: User = create_user(session, email=email, role="caseworker", password=None)
    return cases.create_case(session, vault, ref="K-2026-001", child_name=name,
                             birth_date=born, caseworker_id=worker.id)


def make_parent(session: Session, vault: Vault, index: BlindIndex, case: Case,
                phone: str = "+45 12 34 56 78", name: str = "Mette Kirkegaard") -> Participant:
    """A parent reached by SMS."""
    return cases.add_participant(session, vault, index, case=case, role="parent",
                                 channel="sms", phone=phone, name=name)
