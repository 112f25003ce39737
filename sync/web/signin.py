"""The built-in login: the sign-in form, its throttled check, signing out."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sync.web.auth import LOGIN_SUBJECT, SESSION_COOKIE, Auth, CsrfChecked
from sync.web.pages import render

log = logging.getLogger("territory_sync.audit")
AFTER_SIGN_IN = "/plans/latest"

router = APIRouter(tags=["sign-in"])


def _local_path(next_path: str) -> str:
    """Where to go after signing in: a path of this site only (never //host or a URL)."""
    if next_path.startswith("/") and not next_path.startswith(("//", "/\\")):
        return next_path
    return AFTER_SIGN_IN


def _refuse_in_proxy_mode(auth: Auth) -> None:
    if auth.settings.auth_mode != "login":
        raise HTTPException(404, "sign-in happens at the SSO proxy (AUTH_MODE=proxy)")


@router.get("/login", response_class=HTMLResponse)
def sign_in_form(request: Request, auth: Auth, next: str = AFTER_SIGN_IN) -> HTMLResponse:
    _refuse_in_proxy_mode(auth)
    return _form(request, auth, next_path=next)


def _form(
    request: Request, auth: Auth, *, next_path: str, email: str = "", error: str = "", status_code: int = 200
) -> HTMLResponse:
    return render(
        request,
        auth,
        "login.html",
        csrf_subject=LOGIN_SUBJECT,
        status_code=status_code,
        user=None,
        configured=auth.secret is not None,
        next=_local_path(next_path),
        email=email,
        error=error,
    )


@router.post("/login", response_model=None)
def sign_in(
    request: Request,
    auth: Auth,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = AFTER_SIGN_IN,
) -> Response:
    """Check the password (argon2, off the event loop); throttled per account and per address."""
    _refuse_in_proxy_mode(auth)
    if not auth.csrf_valid(LOGIN_SUBJECT, request, csrf_token):
        raise HTTPException(403, "the form's CSRF token is missing or not valid: reload the page")
    address = auth.client_address(request)
    account = email.strip().lower()
    if not auth.throttle.allows(account, address):
        wait = auth.throttle.retry_after_seconds(account, address)
        log.warning("sign-in throttled for %s from %s", account, address)
        response = _form(
            request, auth, next_path=next, email=email, status_code=429,
            error=f"Too many failed sign-ins: try again in {wait // 60 + 1} minute(s).",
        )
        response.headers["Retry-After"] = str(wait)
        return response
    user = auth.users.verify(account, password)
    if user is None:
        auth.throttle.failed(account, address)
        log.info("failed sign-in for %s from %s", account, address)
        return _form(request, auth, next_path=next, email=email, status_code=401,
                     error="Wrong email or password.")
    log.info("%s signed in from %s", user.email, address)
    signed_in = RedirectResponse(_local_path(next), status_code=303)
    signed_in.set_cookie(
        SESSION_COOKIE,
        auth.session_cookie(user),
        max_age=int(auth.settings.session_hours * 3600),
        httponly=True,
        secure=True,
        samesite="lax",
        path="/",
    )
    return signed_in


@router.post("/logout")
def sign_out(user: CsrfChecked) -> RedirectResponse:
    log.info("%s signed out", user.email)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return response
