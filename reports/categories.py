"""The safety categories of CONTRACT.md and their names for caseworkers, in one place."""

from __future__ import annotations

from reports.i18n import N_, texts

# Fixed ids (CONTRACT.md, "Safety categories"), each with its English msgid; the Danish names
# are in reports/locale/da (the words the municipalities' caseworkers use).
CATEGORY_NAMES: dict[str, str] = {
    "suicide": N_("Suicidal thoughts"),
    "self_harm": N_("Self-harm"),
    "violence": N_("Violence"),
    "sexual_abuse": N_("Sexual abuse"),
    "neglect": N_("Neglect"),
    "parent_substance": N_("A parent's drinking or drugs"),
    "leave_home": N_("Does not want to be at home"),
    "threats": N_("Threats"),
    "forced_control": N_("Force and control"),
    "asked_for_help": N_("Asked to talk to an adult"),
}
CATEGORIES: tuple[str, ...] = tuple(CATEGORY_NAMES)


def category_label(category: str, lang: str = "da") -> str:
    """A category's name in `lang` ("Selvmordstanker"); an unknown id is shown as it is."""
    name = CATEGORY_NAMES.get(category)
    return texts(lang)(name) if name else category
