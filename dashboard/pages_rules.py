"""The admin page of the alert rules in force: each rule's value, default and source."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from dashboard.guard import Viewer, admin_only, dash, page_handler
from dashboard.render import page
from reports.rules import DEFAULT_RULES, AgeBand, RulesInForce, rule_values


@dataclass(frozen=True, slots=True)
class RuleRow:
    """One rule as the page lists it: key, value in force, shipped value, source."""

    key: str
    value: float | int | str
    default: float | int | str
    source: str  # "file" | "default"


def rule_rows(in_force: RulesInForce) -> tuple[list[RuleRow], list[AgeBand], list[AgeBand]]:
    """The scalar rules, then the age bands in force and the shipped ones."""
    shipped = dict(rule_values(DEFAULT_RULES))
    rows = [RuleRow(key, value, shipped[key], in_force.source(key))
            for key, value in rule_values(in_force.rules) if key != "age_bands"]
    return rows, list(in_force.rules.age_bands), list(DEFAULT_RULES.age_bands)


@page_handler
@admin_only
async def rules(request: web.Request, me: Viewer) -> web.StreamResponse:
    """GET /rules: the rules Stemme flags cases by, and where each comes from (admins only)."""
    d = dash(request)
    in_force = d.settings.rules
    rows, bands, shipped_bands = rule_rows(in_force)
    return page(request, "rules.html", {
        "me": me.user, "csrf": me.csrf, "rows": rows, "bands": bands,
        "shipped_bands": shipped_bands, "bands_source": in_force.source("age_bands"),
        "file": str(in_force.path) if in_force.path else None},
        zone=d.zone, lang=me.lang)
