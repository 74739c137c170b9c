"""The conversation engine: a pure `step(state, input, ctx) -> Step`; the host does all I/O."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from bot.flows.context import FlowContext
from bot.flows.events import (
    ButtonPress,
    ConsentChanged,
    Event,
    Expire,
    FreeTextRecorded,
    HelpRequested,
    Input,
    InputRejected,
    Remind,
    SafetyConcern,
    SendMessage,
    StartSurvey,
    SurveyStarted,
    Text,
)
from bot.flows.parsing import (
    Ratings,
    Rejected,
    SkipItem,
    is_nothing_to_add,
    is_words,
    parse_button_score,
    parse_command,
    parse_ratings,
    parse_yes_no,
)
from bot.flows.plan import build_questions
from bot.flows.prompts import (
    HOME_CONCERNS,
    UNSAFE,
    block_of,
    reask_keys,
    safety_reply,
    t,
)
from bot.flows.state import (
    CONSENT,
    END,
    FEEDBACK,
    IDLE,
    SAFETY,
    Question,
    SurveyState,
)
from bot.flows.turn import HOME_ITEMS, MAX_FREE_TEXT, Turn


@dataclass(frozen=True, slots=True)
class Step:
    """The state to store and the events to carry out, in order."""

    state: SurveyState
    events: tuple[Event, ...]


def new_state() -> SurveyState:
    """The state of a person with no survey running."""
    return SurveyState()


def step(state: SurveyState, event: Input, ctx: FlowContext) -> Step:
    """Advance one person's survey by one input; bad input becomes events, never exceptions."""
    turn = _Turn(state, ctx)
    if isinstance(event, StartSurvey):
        turn.start(event)
    elif isinstance(event, Text):
        turn.text(event.text)
    elif isinstance(event, ButtonPress):
        turn.button(event)
    elif isinstance(event, Expire):
        turn.expire()
    elif isinstance(event, Remind):
        turn.remind()
    return Step(turn.state, tuple(turn.events))


class _Turn(Turn):
    """The input handlers: what each kind of input does to a survey."""


    def start(self, start: StartSurvey) -> None:
        if self.state.active:
            self.finish("replaced")
        questions, dropped = build_questions(start, self.ctx)
        for dropped_id in dropped:
            self.emit(InputRejected("start:unknown_id", detail=dropped_id))
        if not questions:
            self.emit(InputRejected("start:nothing_to_ask"))
            return
        first = CONSENT if self.ctx.ask_consent else questions[0].id
        self.state = SurveyState(at=first, questions=questions, session=start.session_took_place)
        self.emit(SurveyStarted(tuple(dict.fromkeys(q.instrument for q in questions))))
        if self.ctx.ask_consent:
            self.ask_consent()
        else:
            self.greet("hello")

    def greet(self, opener: str) -> None:
        self.say(f"{t(self.ctx, opener)} {t(self.ctx, 'greeting')}", "greeting")
        self.reprompt()

    def expire(self) -> None:
        if self.state.active:
            self.finish("expired")

    def remind(self) -> None:
        if not self.state.active:
            return
        self.reprompt(self.preface("reminder"))
        last = self.events[-1]
        if isinstance(last, SendMessage):
            self.events[-1] = SendMessage(replace(last.message, purpose="reminder"))

    def text(self, raw: str) -> None:
        command = parse_command(raw)
        if command == "stop":
            self.stop()
        elif command == "help":
            self.emit(HelpRequested())
            self.say(t(self.ctx, "help"), "help")
            self.reprompt()
        elif command == "start":
            self.resume()
        elif command == "start_token":
            self.emit(InputRejected("start:token_for_host"))  # an invite link: host's job
        elif command == "unsafe":
            self.concern(None, [("asked_for_help", "SOS")])
        elif hits := self.ctx.detector.scan(raw):
            self.concern(raw, [(hit.category, hit.term) for hit in hits])
        elif command == "back":
            self.back()
        else:
            self.answer_text(raw)

    def stop(self) -> None:
        self.emit(ConsentChanged("withdrawn"))
        # Sent although consent was just withdrawn: it confirms the stop (purpose "stop").
        self.say(t(self.ctx, "stop.confirm"), "stop")
        if self.state.active:
            self.finish("stopped")
        else:
            self.state = self.state.moved(END + "stopped")

    def resume(self) -> None:
        if self.state.at == CONSENT:
            self.consent(True)
        elif self.state.active:
            self.emit(InputRejected("start:already_active"))
            self.reprompt(self.preface("start.already"))
        else:
            self.emit(ConsentChanged("resumed"))
            self.state = self.state.moved(IDLE)
            self.say(t(self.ctx, "start.confirm"), "start")

    def concern(self, raw: str | None, hits: list[tuple[str, str]]) -> None:
        """A risk in the person's words (or the help button): flag it, answer for its kind,
        and do not push on with the survey."""
        at_feedback = self.state.at == FEEDBACK
        source: Literal["free_text", "message", "button"] = "button"
        if raw is not None:
            source = "free_text" if at_feedback else "message"
            self.emit(FreeTextRecorded(raw.strip()[:MAX_FREE_TEXT],
                                       "comment" if at_feedback else "message"))
        # One concern per message, the most serious category first: one alert for the
        # caseworker to assess, not one per category the words touch.
        category, term = hits[0]
        self.emit(SafetyConcern(category, term, source))
        self.say(safety_reply(self.ctx, category), "safety")
        if any(category in HOME_CONCERNS for category, _ in hits):
            self.skip_home_items()
        if at_feedback:
            # The last answer was a disclosure: the safety reply is the goodbye, not "thanks".
            self.finish("finished")
        elif self.state.question is not None:
            self.state = self.state.moved(SAFETY, resume_at=self.state.at)
            self.ask_continue()
        # At consent or already paused: the reply is all; the question before still stands.

    def skip_home_items(self) -> None:
        """After a disclosure about home, the survey does not ask about home."""
        for question in self.state.questions:
            if question.item in HOME_ITEMS and question.id not in self.state.answers:
                self.record(question, None)

    def back(self) -> None:
        index = self.state.index
        if self.state.at == FEEDBACK:
            index = len(self.state.questions)
        if index is None:
            self.not_here("back:not_here")
        elif index == 0:
            self.emit(InputRejected("back:nothing_before"))
            self.reprompt(self.preface("back.first"))
        else:
            self.go_to(index - 1, self.preface("back.ok"))

    def not_here(self, code: str) -> None:
        """Input that means nothing where the survey is."""
        self.emit(InputRejected(code))
        if self.state.active:
            self.reprompt(self.preface("reask.again"))
        elif self.state.at != END + "stopped":  # after STOP only START and HELP get a reply
            self.say(t(self.ctx, "idle"), "idle")

    def answer_text(self, raw: str) -> None:
        at, question = self.state.at, self.state.question
        if at in (CONSENT, SAFETY):
            answer = parse_yes_no(raw)
            if answer is None:
                self.keep(raw)
                self.miss("yes_no:unclear" if at == CONSENT else "yes_no:unclear_after_concern")
            elif at == CONSENT:
                self.consent(answer)
            else:
                self.carry_on(answer)
        elif at == FEEDBACK:
            if not raw.strip():
                self.emit(InputRejected("feedback:empty"))
                self.reprompt()
                return
            if not is_nothing_to_add(raw):
                self.emit(FreeTextRecorded(raw.strip()[:MAX_FREE_TEXT]))
            self.thank()
        elif question is not None:
            self.rate(question, raw)
        else:
            self.keep(raw)
            self.not_here("survey:not_active" if at != END + "stopped" else "survey:stopped")

    def rate(self, question: Question, raw: str) -> None:
        block = block_of(self.state, question)
        several = self.ctx.capabilities.several_answers_per_message
        parsed = parse_ratings(raw, question.scale, several=several, max_count=len(block))
        if isinstance(parsed, Rejected):
            self.keep(raw)
            if parsed.code == "rating:not_a_number" and is_words(raw):
                # Something the person wanted to say, not a botched number: thank them for it
                # (the caseworker reads it) and ask again, without counting it as a miss.
                self.emit(InputRejected("rating:words"))
                self.reprompt(self.preface("words.thanks"))
            else:
                self.miss(parsed.code)
            return
        index = self.state.questions.index(question)
        if isinstance(parsed, SkipItem):
            self.record(question, None)
            self.forward(index + 1)
            return
        assert isinstance(parsed, Ratings)
        for answered, score in zip(block, parsed.scores, strict=False):
            self.record(answered, score)
        self.forward(index + len(parsed.scores))

    def consent(self, given: bool) -> None:
        version = self.text_version("consent.ask")
        if given:
            self.emit(ConsentChanged("given", version))
            self.state = self.state.moved(self.state.questions[0].id)
            self.greet("consent.thanks")
        else:
            self.emit(ConsentChanged("declined", version))
            self.say(t(self.ctx, "consent.declined"), "consent")
            self.finish("declined")

    def carry_on(self, wants_to: bool) -> None:
        if not wants_to:
            self.say(t(self.ctx, "safety.goodbye"), "safety")
            self.finish("safety")
            return
        target = self.state.resume_at
        ids = [question.id for question in self.state.questions]
        start = ids.index(target) if target in ids else len(ids)
        self.state = replace(self.state, resume_at="")
        self.forward(start, self.preface("safety.resume"))

    def thank(self) -> None:
        self.say(t(self.ctx, "thanks"), "thanks")
        self.finish("finished")

    def button(self, press: ButtonPress) -> None:
        data, at, question = press.data, self.state.at, self.state.question
        if data in ("stop", "help", "start", "back"):
            self.text(data)
        elif data == UNSAFE:
            self.concern(None, [("asked_for_help", "button")])
        elif press.state_id is not None and press.state_id != at:
            if self.state.active:
                self.emit(InputRejected("button:stale"))
                self.reprompt(self.preface(*reask_keys("button:stale")))
            else:
                self.not_here("button:stale")
        elif at in (CONSENT, SAFETY) and data in ("yes", "no"):
            (self.consent if at == CONSENT else self.carry_on)(data == "yes")
        elif at == FEEDBACK and data == "skip":
            self.thank()
        elif question is not None and data == "skip":
            self.record(question, None)
            self.forward(self.state.questions.index(question) + 1)
        elif question is not None and data.startswith("v:"):
            score = parse_button_score(data, question.scale)
            if score is None:
                self.miss("button:unknown")
            else:
                self.record(question, score)
                self.forward(self.state.questions.index(question) + 1)
        elif self.state.active:
            self.miss("button:unknown")
        else:
            self.not_here("button:unknown")
