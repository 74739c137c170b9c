"""Risk detection: the lexicon weighed by the learned model, and what the model finds alone."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from bot.flows.detector import MODEL_TERM, Detector, load_detector
from bot.flows.risk_model import MODEL_PATH, RiskModel, load_model
from bot.flows.safety import Lexicon
from tests.flows import bench_scripts

# A lexicon that knows one Danish phrase, so that what the model adds can be seen.
ONE_PHRASE = Lexicon.from_toml(
    '[[terms]]\ncategory = "violence"\nterm = "slog mig"\npatterns = ["slog mig"]\n')


def trainer() -> ModuleType:
    return bench_scripts.load("train_risk_model")


def test_the_model_finds_a_worry_the_lexicon_has_no_words_for() -> None:
    detector = Detector(ONE_PHRASE, load_model())
    text = "når far har været ude om aftenen kan man ikke vække ham om morgenen og han lugter"

    hits = detector.scan(text)

    assert ONE_PHRASE.scan(text) == ()
    assert [hit.term for hit in hits] == [MODEL_TERM]
    assert hits[0].category in {"neglect", "parent_substance"}


def test_a_lexicon_match_in_a_game_is_dropped_when_the_model_is_sure_it_is_harmless() -> None:
    detector = Detector(ONE_PHRASE, load_model())

    assert ONE_PHRASE.scan("min bror slog mig i fifa i går haha")
    assert detector.scan("min bror slog mig i fifa i går haha") == ()
    assert [hit.category for hit in detector.scan("min stedfar slog mig i går aftes")] == [
        "violence"]


def test_an_organisations_own_category_stands_whatever_the_model_says() -> None:
    lexicon = Lexicon.from_toml(
        '[[terms]]\ncategory = "bullying"\nterm = "mobbet"\npatterns = ["mobbet"]\n')

    hits = Detector(lexicon, load_model()).scan("jeg bliver mobbet i skolen")

    assert [hit.category for hit in hits] == ["bullying"]


@pytest.mark.parametrize("answer", ["7", "7 8 9 10", "ja", "nej", "ved ikke", "stop", "fint",
                                    "hej", "tak for i dag", "det var fint", "ok 👍"])
def test_ratings_and_everyday_answers_raise_nothing(answer: str) -> None:
    assert load_detector().scan(answer) == ()


def test_without_a_model_the_detector_is_the_lexicon() -> None:
    detector = Detector(ONE_PHRASE, None)

    assert detector.scan("min bror slog mig i fifa") == ONE_PHRASE.scan("min bror slog mig i fifa")


def test_the_shipped_weights_read_a_message_as_scikit_learn_does(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    train = trainer()
    fitted = train.fit(["tune"])
    path = tmp_path / "model.json"
    path.write_text(json.dumps(train.to_json(fitted, ["tune"])), encoding="utf-8")
    texts = ["jeg vil ikke leve mere", "min far slår mig når han har drukket",
             "vi spillede fifa og det var sjovt", "ingen laver mad til mig", "7 fint møde",
             "jeg skærer i mig selv 🩸", "nobody would care if i died"]

    shipped = RiskModel.from_json(path.read_text(encoding="utf-8"))

    for text, expected in zip(texts, fitted.risk(texts), strict=True):
        assert shipped.read(text).risk == pytest.approx(expected, abs=0.01), text


def test_the_shipped_model_was_trained_on_every_tuning_set_and_never_on_the_test_split() -> None:
    shipped = json.loads(MODEL_PATH.read_text(encoding="utf-8"))

    assert shipped["trained_on"] == trainer().tuning_sets()
    assert "test" not in shipped["trained_on"]


def test_training_refuses_the_test_split() -> None:
    with pytest.raises(SystemExit, match="never trained on"):
        trainer().load(["tune", "test"])
