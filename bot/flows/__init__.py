"""Stemme's conversation engine and instruments: pure, standard library only, no I/O but its data.

Use `step(state, input, ctx)`; the host stores `state.to_json()` and carries out the events.
"""

from bot.flows.catalogue import Catalogue, load_catalogue
from bot.flows.context import AgeBand, Audience, FlowContext, Language, Rater
from bot.flows.detector import Detector, load_detector
from bot.flows.engine import Step, new_state, step
from bot.flows.events import (
    AnswerRecorded,
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
    SurveyCompleted,
    SurveyStarted,
    Text,
    event_to_dict,
)
from bot.flows.instruments import Instrument, InstrumentError, load_instruments
from bot.flows.messages import Capabilities, Choice, OutgoingMessage
from bot.flows.plan import default_instruments
from bot.flows.safety import Lexicon, load_lexicon
from bot.flows.state import StateError, SurveyState

__all__ = [
    "AgeBand",
    "AnswerRecorded",
    "Audience",
    "ButtonPress",
    "Capabilities",
    "Catalogue",
    "Choice",
    "ConsentChanged",
    "Detector",
    "Event",
    "Expire",
    "FlowContext",
    "FreeTextRecorded",
    "HelpRequested",
    "Input",
    "InputRejected",
    "Instrument",
    "InstrumentError",
    "Language",
    "Lexicon",
    "OutgoingMessage",
    "Rater",
    "Remind",
    "SafetyConcern",
    "SendMessage",
    "StartSurvey",
    "StateError",
    "Step",
    "SurveyCompleted",
    "SurveyStarted",
    "SurveyState",
    "Text",
    "default_instruments",
    "event_to_dict",
    "load_catalogue",
    "load_detector",
    "load_instruments",
    "load_lexicon",
    "new_state",
    "step",
]
