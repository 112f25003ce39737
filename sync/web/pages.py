"""The web app's own HTML pages: Jinja2 templates with autoescape, one stylesheet allowed by hash."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from sync.web.auth import CSRF_COOKIE, Authenticator, new_csrf_nonce
from sync.web.formats import money, number
from sync.web.security import csp_hash

PAGE_CSS = (
    "body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b}"
    "header{display:flex;gap:16px;align-items:center;padding:10px 20px;background:#f3f3f3}"
    "header form{margin-left:auto}main{padding:12px 20px;max-width:1100px}"
    "table{border-collapse:collapse;font-size:13px;margin:12px 0}td,th{border:1px solid #ddd;padding:3px 8px}"
    "th{background:#f3f3f3}.error{color:#b3261e;font-weight:600}.note{color:#137333}"
    "form.signin{display:grid;gap:8px;max-width:320px}button{padding:4px 12px}"
)
PAGE_CSS_HASH = csp_hash(PAGE_CSS)

TEMPLATES = Environment(
    loader=PackageLoader("sync.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
TEMPLATES.filters.update(money=money, number=number)  # numbers as shown, whatever a CRM sent


def render(
    request: Request,
    auth: Authenticator,
    template: str,
    *,
    csrf_subject: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page whose forms carry the CSRF token of `csrf_subject` (the user, or the sign-in form)."""
    nonce = request.cookies.get(CSRF_COOKIE) or new_csrf_nonce()
    html = TEMPLATES.get_template(template).render(
        page_css=PAGE_CSS, csrf_token=auth.csrf_token(csrf_subject, nonce) or "", **context
    )
    response = HTMLResponse(html, status_code=status_code)
    if CSRF_COOKIE not in request.cookies:
        response.set_cookie(CSRF_COOKIE, nonce, httponly=True, secure=True, samesite="strict", path="/")
    return response
