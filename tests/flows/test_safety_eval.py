"""Risk detection's numbers on the labelled sets may not fall below what they are today.

What is measured is the detector the engine uses (the lexicon weighed by the risk model). The
floors are the test split's measured numbers, rounded down (that split is never tuned on: a
change that lowers them lost children the detector found before). The tuning splits must stay
near complete, so a change for one of them cannot quietly undo another.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from bot.flows.detector import load_detector
from tests.flows import bench_scripts

TEST_RECALL_FLOOR = 0.97  # measured 0.973 (2026-12-04); the target is 0.95
TEST_CATEGORY_FLOOR = 0.93  # the weakest, parent_substance and sexual_abuse, 0.933; target 0.90
TEST_FALSE_ALARM_CEILING = 0.033  # measured 0.032 (12 of 380); the target is 0.05


def bench() -> ModuleType:
    return bench_scripts.load("safety_eval")


def test_the_split_never_tuned_on_keeps_its_recall_and_false_alarm_rate() -> None:
    evaluation = bench()

    scores = evaluation.evaluate(load_detector(), evaluation.load_split("test"))

    assert scores.recall() >= TEST_RECALL_FLOOR
    assert scores.false_positive_rate <= TEST_FALSE_ALARM_CEILING
    for category in scores.total:
        assert scores.recall(category) >= TEST_CATEGORY_FLOOR, category


@pytest.mark.parametrize("split", ["tune", "tune2", "tune3", "tune4", "tune5", "tune6", "tune7"])
def test_every_tuning_split_stays_nearly_complete(split: str) -> None:
    evaluation = bench()

    scores = evaluation.evaluate(load_detector(), evaluation.load_split(split))

    assert scores.recall() >= 0.95
    assert scores.false_positive_rate <= 0.04
