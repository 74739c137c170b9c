"""One step's work in progress: the state as it changes, the events so far, and the moves
every input handler makes (prompt, move on, record, re-ask, keep what was written)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from bot.flows.context import FlowContext
from bot.flows.events import (
    AnswerRecorded,
    Event,
    FreeTextRecorded,
    InputRejected,
    SendMessage,
    SurveyCompleted,
)
from bot.flows.messages import OutgoingMessage
from bot.flows.prompts import (
    feedback_message,
    message,
    question_message,
    reask_keys,
    t,
    with_help,
    yes_no,
)
from bot.flows.state import (
    CONSENT,
    END,
    FEEDBACK,
    MAX_MISSES,
    SAFETY,
    Answer,
    EndReason,
    Question,
    SurveyState,
)

MAX_FREE_TEXT = 4096  # Telegram's longest message: nothing a person writes is cut off
HOME_ITEMS = frozenset({"family"})  # the items that ask about home and family


class Turn:
    """One step's work: the state as it changes and the events so far, and what every
    input handler uses (prompting, moving, recording, re-asking)."""

    def __init__(self, state: SurveyState, ctx: FlowContext) -> None:
        self.state = state
        self.ctx = ctx
        self.events: list[Event] = []

    # --- small helpers ------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def send(self, outgoing: OutgoingMessage) -> None:
        self.emit(SendMessage(outgoing))

    def say(self, text: str, purpose: str) -> None:
        self.send(message(self.ctx, text, purpose=purpose, state_id=self.state.at))

    def preface(self, *keys: str) -> str:
        return " ".join(t(self.ctx, key) for key in keys)

    def text_version(self, key: str) -> str:
        resolved = self.ctx.catalogue.resolve(key, self.ctx.audience)
        digest = hashlib.sha256(t(self.ctx, key).encode()).hexdigest()[:12]
        return f"{resolved}@{self.ctx.language}:{digest}"

    # --- prompts ------------------------------------------------------------------------

    def ask_consent(self, preface: str = "") -> None:
        opener = preface or t(self.ctx, "hello")  # "Hej!" the first time, else the re-ask
        text = f"{opener} {t(self.ctx, 'consent.ask')}"
        self.send(with_help(self.ctx, yes_no(self.ctx, text, purpose="consent",
                                             state_id=CONSENT)))

    def ask_continue(self, preface: str = "") -> None:
        text = " ".join(p for p in (preface, t(self.ctx, "safety.continue")) if p)
        self.send(yes_no(self.ctx, text, purpose="safety", state_id=SAFETY))

    def reprompt(self, preface: str = "") -> None:
        """Ask again whatever the survey is waiting for."""
        at, question = self.state.at, self.state.question
        if at == CONSENT:
            self.ask_consent(preface)
        elif at == SAFETY:
            self.ask_continue(preface)
        elif at == FEEDBACK:
            self.send(feedback_message(self.ctx, self.state, preface))
        elif question is not None:
            self.send(question_message(self.ctx, self.state, question, preface))

    def go_to(self, index: int, preface: str = "") -> None:
        """Move to the question at `index`, or to the free-text question after the last."""
        if index < len(self.state.questions):
            self.state = self.state.moved(self.state.questions[index].id)
        else:
            self.state = self.state.moved(FEEDBACK)
        self.reprompt(preface)

    def forward(self, index: int, preface: str = "") -> None:
        """Move on to the question at `index`, past home items skipped after a disclosure
        about home (a step back still reaches them)."""
        questions = self.state.questions
        while index < len(questions) and questions[index].item in HOME_ITEMS and (
                answer := self.state.answers.get(questions[index].id)) is not None \
                and answer.skipped:
            index += 1
        self.go_to(index, preface)

    def finish(self, reason: EndReason) -> None:
        answered = all(
            (answer := self.state.answers.get(q.id)) is not None and not answer.skipped
            for q in self.state.questions
        )
        self.emit(SurveyCompleted(partial=reason != "finished" or not answered, reason=reason))
        self.state = self.state.moved(END + reason, resume_at="")

    def record(self, question: Question, score: float | None) -> None:
        skipped = score is None
        answers = {**self.state.answers, question.id: Answer(score, skipped)}
        self.state = replace(self.state, answers=answers)
        wording = self.ctx.instruments[question.instrument].wording
        self.emit(
            AnswerRecorded(
                question.instrument, question.version, question.item, score, skipped, wording
            )
        )

    def miss(self, code: str) -> None:
        """An answer that was not an answer: re-ask kindly; after three, move on."""
        self.emit(InputRejected(code))
        misses = self.state.misses + 1
        question = self.state.question
        if misses < MAX_MISSES:
            self.state = replace(self.state, misses=misses)
            faces = question is not None and question.scale == "faces"
            buttons = self.ctx.capabilities.buttons
            self.reprompt(self.preface(*reask_keys(code, faces=faces, buttons=buttons)))
        elif question is not None:
            self.record(question, None)
            self.forward(self.state.questions.index(question) + 1, self.preface("skipped"))
        elif self.state.at == CONSENT:
            self.say(t(self.ctx, "consent.unclear"), "consent")
            self.finish("consent_unclear")
        elif self.state.at == SAFETY:
            self.say(t(self.ctx, "safety.goodbye"), "safety")
            self.finish("safety")

    def keep(self, raw: str) -> None:
        """Store words that were not an answer: the caseworker reads them."""
        if raw.strip():
            self.emit(FreeTextRecorded(raw.strip()[:MAX_FREE_TEXT], "message"))
