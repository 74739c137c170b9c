"""The web-chat page `/chat/{token}`: server-rendered, works without JavaScript.

The token in the URL is the participant's secret (a 192-bit random value, stored hashed), so a
form on another site cannot post here without knowing it; that is the page's CSRF defence.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.channels.base import Handler, Intake
from bot.channels.requests import verified
from bot.i18n import t
from storage import http_headers
from storage.models import OutboxMessage, utcnow
from storage.repo.invites import resolve_webchat
from storage.repo.outbox import open_payload
from storage.vault import Vault

# What the page reads: the messages sent to the person, kept sealed in the outbox.
ENGINE = web.AppKey("webchat_engine", Engine)
VAULT = web.AppKey("webchat_vault", Vault)
TEMPLATES = Path(__file__).with_name("templates")
_env = Environment(loader=FileSystemLoader(TEMPLATES),
                   autoescape=select_autoescape(["html"]))
SHOWN = 20  # the last messages shown; older ones scroll out


def _style_hash(template: Path) -> str:
    """The CSP source of the page's one inline stylesheet (static text, so hashed once)."""
    found = re.search(r"<style>(.*?)</style>", template.read_text(encoding="utf-8"), re.S)
    digest = hashlib.sha256(found[1].encode("utf-8") if found else b"").digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


# The dashboard's strict policy, with the page's inline styles allowed by hash: no scripts,
# nothing loaded from elsewhere, forms post only here, never framed.
CSP = (f"default-src 'none'; style-src {_style_hash(TEMPLATES / 'chat.html')}; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def _page(engine: Any, vault: Any, token: str, lang: str | None) -> dict[str, Any]:
    with Session(engine) as session:
        person = resolve_webchat(session, token, now=utcnow())
        if person is None:
            return {"known": False, "lang": lang or "da"}
        rows = session.exec(select(OutboxMessage).where(
            OutboxMessage.participant_id == person.id, OutboxMessage.channel == "webchat",
            OutboxMessage.status.in_(["sent", "delivered"]))  # type: ignore[attr-defined]
            .order_by(col(OutboxMessage.created_at).desc()).limit(SHOWN)).all()
        messages = [open_payload(session, vault, r).get("message", {}) for r in reversed(rows)]
        language = lang if lang in ("da", "en") else person.language
    last = messages[-1] if messages else {}
    return {"known": True, "lang": language, "messages": messages,
            "choices": [{"label": c[0], "data": c[1]} for c in last.get("choices", [])],
            "aside": [{"label": c[0], "data": c[1]} for c in last.get("aside", [])],
            "layout": last.get("layout", "none")}


async def chat_get(request: web.Request) -> web.Response:
    """GET /chat/{token}: the conversation so far and the current question."""
    app = request.app
    data = await asyncio.to_thread(_page, app[ENGINE], app[VAULT], request.match_info["token"],
                                   request.query.get("lang"))
    language = data["lang"]
    data.update(t=lambda key: t(key, language), other_lang="en" if language == "da" else "da",
                msg_id=secrets.token_urlsafe(12), msg_id2=secrets.token_urlsafe(12),
                msg_id3=secrets.token_urlsafe(12))
    html = _env.get_template("chat.html").render(**data)
    response = web.Response(text=html, content_type="text/html",
                            status=200 if data["known"] else 404)
    http_headers.strict(response.headers, csp=CSP)
    return response


def routes(channel: Handler, intake: Intake) -> list[web.RouteDef]:
    """GET and POST /chat/{token}."""

    async def chat_post(request: web.Request) -> web.Response:
        """Store the answer, process it and "send" the reply, then show the page again."""
        # An unknown page is not found: nothing tells a guesser that the path exists.
        inbounds = await verified(channel, request, forged=web.HTTPNotFound)
        # Web chat "sends" by storing: the reply must be there when the page is shown again.
        await intake.accept_and_reply(inbounds, "webchat")
        raise web.HTTPSeeOther(location=request.path)

    return [web.get("/chat/{token}", chat_get), web.post("/chat/{token}", chat_post)]
