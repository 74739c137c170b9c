"""The OpenAPI 3.1 document of /api/v1/, with the bodies' schemas generated from pydantic."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from dashboard import schemas as s
from dashboard.schemas import ID, REQUEST_MODELS, RESPONSE_MODELS, ErrorOut

PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"
ERRORS = {
    "400": "The body is not JSON.",
    "401": "No valid bearer token.",
    "404": "No such case or participant, or it is not yours (the two look the same).",
    "409": "It contradicts what is stored (e.g. the alert was already acknowledged, or a "
           "question still waits for its answer).",
    "422": "A value cannot be used; `field` names it.",
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "pattern": ID}}


LANG = {"name": "lang", "in": "query", "required": False,
        "description": "Language of `why` and `reason` texts.",
        "schema": {"type": "string", "enum": ["da", "en"], "default": "da"}}
CASE = _param("case_id", "The case's id.")
PARTICIPANT = _param("participant_id", "The participant's id.")
SESSION = _param("session_id", "The session's id.")
ALERT = _param("alert_id", "The alert's id.")
FORMAT = {"name": "format", "in": "path", "required": True, "description": "The file format.",
          "schema": {"type": "string", "enum": ["pdf", "csv", "png", "svg", "json"]}}


def _op(op_id: str, summary: str, ok: tuple[str, type[BaseModel] | None, str], *,
        params: list[dict[str, Any]] | None = None, body: type[BaseModel] | None = None,
        body_required: bool = True, errors: tuple[str, ...] = ("401", "404", "422"),
        links: dict[str, Any] | None = None, ok_content: dict[str, Any] | None = None
        ) -> dict[str, Any]:
    status, model, description = ok
    success = _json(model, description) if model else {"description": description,
                                                       "content": ok_content or {}}
    if links:
        success["links"] = links
    responses: dict[str, Any] = {status: success}
    for code in errors:
        responses[code] = _json(ErrorOut, ERRORS[code])
    op: dict[str, Any] = {"operationId": op_id, "summary": summary, "responses": responses}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": body_required,
                             "content": {"application/json": {"schema": _ref(body)}}}
    return op


def _paths() -> dict[str, Any]:
    case_links = {
        name: {"operationId": op, "parameters": {"case_id": "$response.body#/case_id"}}
        for name, op in (("GetCase", "getCase"), ("ListParticipants", "listParticipants"),
                         ("AddParticipant", "addParticipant"), ("AddSessions", "addSessions"),
                         ("GetRatings", "getRatings"), ("GetAlerts", "getAlerts"),
                         ("GetMessages", "getMessages"))}
    person_links = {
        name: {"operationId": op, "parameters": {
            "case_id": "$response.body#/participant/case_id",
            "participant_id": "$response.body#/participant/participant_id"}}
        for name, op in (("Ask", "askNow"), ("Withdraw", "withdrawParticipant"),
                         ("Invite", "inviteParticipant"))}
    exports = {"application/pdf": {"schema": {"type": "string", "format": "binary"}},
               "text/csv": {"schema": {"type": "string"}},
               "image/png": {"schema": {"type": "string", "format": "binary"}},
               "image/svg+xml": {"schema": {"type": "string"}},
               "application/json": {"schema": {"type": "object"}}}
    return {
        f"{PREFIX}/me": {"get": _op("getMe", "The user this token acts as.",
                                    ("200", s.MeOut, "The user."), errors=("401",))},
        f"{PREFIX}/cases": {
            "get": _op("listCases", "Open cases, the most urgent first.",
                       ("200", s.CaseList, "The cases."), params=[LANG],
                       errors=("401", "422")),
            "post": _op("createCase", "Create a case.", ("201", s.CaseDetail, "Created."),
                        body=s.CaseCreate, errors=("400", "401", "422"), links=case_links)},
        f"{PREFIX}/cases/{{case_id}}": {
            "get": _op("getCase", "One case; every call is written to the audit log.",
                       ("200", s.CaseDetail, "The case."), params=[CASE, LANG]),
            "patch": _op("updateCase", "Change the cadence or the goals.",
                         ("200", s.CaseDetail, "The changed case."), params=[CASE],
                         body=s.CaseUpdate, errors=("400", "401", "404", "422"))},
        f"{PREFIX}/cases/{{case_id}}/close": {
            "post": _op("closeCase", "Close the case: planned questions, reminders and running "
                        "surveys end at once; each participant who agreed to contact gets one "
                        "neutral goodbye; everything is kept. Audited.",
                        ("200", s.CaseState, "Closed."), params=[CASE], body=s.CaseClose,
                        body_required=False, errors=("400", "401", "404", "409", "422"))},
        f"{PREFIX}/cases/{{case_id}}/reopen": {
            "post": _op("reopenCase", "Reopen a closed case: asked again from now on; nothing "
                        "that fell due while it was closed is sent. Audited.",
                        ("200", s.CaseState, "Reopened."), params=[CASE],
                        errors=("401", "404", "409"))},
        f"{PREFIX}/cases/{{case_id}}/handover": {
            "post": _op("handOverCase", "Move the case (and its open alerts) to another active "
                        "user. Audited.", ("200", s.CaseState, "Handed over."), params=[CASE],
                        body=s.CaseHandover, errors=("400", "401", "404", "422"))},
        f"{PREFIX}/cases/{{case_id}}/participants": {
            "get": _op("listParticipants", "The raters of a case.",
                       ("200", s.ParticipantList, "The raters."), params=[CASE],
                       errors=("401", "404")),
            "post": _op("addParticipant", "Add a rater; chat raters get an invite, shown once.",
                        ("201", s.ParticipantCreated, "Added."), params=[CASE],
                        body=s.ParticipantCreate, errors=("400", "401", "404", "422"),
                        links=person_links)},
        f"{PREFIX}/cases/{{case_id}}/participants/{{participant_id}}": {
            "patch": _op("updateParticipant", "How a rater is asked: their contact window "
                         "(`contact_window`, null or \"\" for none) and whether they rate "
                         "sessions or the case's follow-up cadence (`rates_sessions`). Only "
                         "the fields given change. Audited.",
                         ("200", s.ParticipantOut, "The rater as changed."),
                         params=[CASE, PARTICIPANT], body=s.ParticipantUpdate,
                         errors=("400", "401", "404", "422"))},
        f"{PREFIX}/cases/{{case_id}}/participants/{{participant_id}}/withdraw": {
            "post": _op("withdrawParticipant", "Stop all contact with a participant now.",
                        ("200", s.ParticipantOut, "Withdrawn."), params=[CASE, PARTICIPANT],
                        errors=("401", "404"))},
        f"{PREFIX}/cases/{{case_id}}/participants/{{participant_id}}/invite": {
            "post": _op("inviteParticipant", "A new invite for a chat rater, shown once; their "
                        "earlier unused invites and web-chat links stop working.",
                        ("201", s.ParticipantCreated, "The rater and the new invite."),
                        params=[CASE, PARTICIPANT], errors=("401", "404", "422"))},
        f"{PREFIX}/cases/{{case_id}}/participants/{{participant_id}}/ask": {
            "post": _op("askNow", "Ask the participant for a rating now: the survey starts "
                        "at once (`started`), or at the first minute quiet hours and their "
                        "contact window allow (`due_at`). While a survey of theirs waits for "
                        "its answer, or an earlier request for its hour, nothing is sent: 409 "
                        "with `reason` `survey_running` or `ask_queued`.",
                        ("202", s.AskOut, "Started, or queued until `due_at`."),
                        params=[CASE, PARTICIPANT], errors=("401", "404", "409", "422"))},
        f"{PREFIX}/cases/{{case_id}}/sessions": {
            "get": _op("listSessions", "Sessions of a case.",
                       ("200", s.SessionList, "The sessions."), params=[CASE],
                       errors=("401", "404")),
            "post": _op("addSessions", "Add a session or a weekly series.",
                        ("201", s.SessionList, "Added."), params=[CASE], body=s.SessionCreate,
                        errors=("400", "401", "404", "422"))},
        f"{PREFIX}/cases/{{case_id}}/sessions/{{session_id}}/cancel": {
            "post": _op("cancelSession", "Cancel a session (or the rest of its series).",
                        ("200", s.Cancelled, "Cancelled."), params=[CASE, SESSION],
                        body=s.SessionCancel, body_required=False,
                        errors=("400", "401", "404", "422"))},
        f"{PREFIX}/cases/{{case_id}}/ratings": {
            "get": _op("getRatings", "Answers and scored ratings; audited.",
                       ("200", s.RatingsOut, "The ratings."), params=[CASE],
                       errors=("401", "404"))},
        f"{PREFIX}/cases/{{case_id}}/alerts": {
            "get": _op("getAlerts", "The case's stored alerts with the words behind safety "
                       "alerts, and where the case stands and why; audited.",
                       ("200", s.AlertsOut, "The alerts."), params=[CASE, LANG])},
        f"{PREFIX}/cases/{{case_id}}/alerts/{{alert_id}}/ack": {
            "post": _op("ackAlert", "Mark an alert as assessed, with a note; its escalation "
                        "stops. Audited.", ("200", s.StoredAlertOut, "Acknowledged."),
                        params=[CASE, ALERT], body=s.AlertAck,
                        errors=("400", "401", "404", "409", "422"))},
        f"{PREFIX}/cases/{{case_id}}/messages": {
            "get": _op("getMessages", "Everything the case's participants wrote, exactly as "
                       "written, oldest first, each with the safety alert it raised; audited.",
                       ("200", s.MessageList, "What was written."), params=[CASE],
                       errors=("401", "404"))},
        f"{PREFIX}/cases/{{case_id}}/export/{{format}}": {
            "get": _op("exportCase", "The progression as a file; audited.",
                       ("200", None, "The file."), ok_content=exports,
                       errors=("401", "404", "422"), params=[CASE, FORMAT, LANG])},
    }


@lru_cache(maxsize=4)
def document(server: str = "/") -> dict[str, Any]:
    """The OpenAPI document; `server` is the base URL integrators call."""
    models = [(m, "validation") for m in REQUEST_MODELS] + \
        [(m, "serialization") for m in RESPONSE_MODELS]
    _, defs = models_json_schema(models, ref_template=REF)  # type: ignore[arg-type]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Stemme API", "version": "1",
            "description": "Cases, raters, sessions, ratings, alerts and exports of Stemme, "
                           "for case-management systems. Authenticate with a bearer token "
                           "(created on the dashboard's 'My tokens' page or by an admin). "
                           "A case of another caseworker answers 404, as if it did not exist.",
        },
        "servers": [{"url": server}],
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
