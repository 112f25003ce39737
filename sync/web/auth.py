"""Who is asking: a signed session cookie (built-in login) or a trusted SSO proxy's header.

Two modes (AUTH_MODE, docs/web.md):
- `login`: `/login` checks a password against USERS_FILE (argon2) and sets a
  session cookie signed with SESSION_SECRET (HttpOnly, Secure, SameSite=Lax),
  carrying the email and a fingerprint of the password hash; the user is looked
  up again on every request, so removing them or changing the password ends it.
- `proxy`: an SSO proxy (oauth2-proxy and the like) authenticates and sets
  AUTH_PROXY_HEADER; it is believed only from TRUSTED_PROXIES addresses.

Every form carries a CSRF token: an HMAC (SESSION_SECRET) of the user and a random
nonce kept in its own HttpOnly, SameSite=Strict cookie. A page on another origin can
neither read the cookie nor compute the token, so it cannot post on a user's behalf.
Failed sign-ins are counted per account and per address (`limits`, in Redis when
REDIS_URL is set, so every web worker shares them).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from sync.settings import Settings
from sync.web.users import Role, StoredUser, User, UserDirectory, normalise_email

SESSION_COOKIE = "tsync_session"
CSRF_COOKIE = "tsync_csrf"
LOGIN_SUBJECT = "sign-in"  # whose CSRF token the sign-in form carries, before anyone is signed in


class SignInRequired(Exception):
    """No (valid) credentials: a browser is sent to /login, anything else answered 401."""

    def __init__(self, detail: str, *, can_sign_in_here: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.can_sign_in_here = can_sign_in_here


class LoginThrottle:
    """Failed sign-ins per account and per address in a moving window."""

    def __init__(self, settings: Settings) -> None:
        storage: Storage = (
            RedisStorage(settings.redis_url, key_prefix=f"tsync:{settings.celery_queue_prefix}login")
            if settings.redis_url
            else MemoryStorage()
        )
        self._limiter = MovingWindowRateLimiter(storage)
        self._item = RateLimitItemPerSecond(
            settings.login_max_failures, max(1, round(settings.login_throttle_minutes * 60))
        )

    def allows(self, email: str, address: str) -> bool:
        """False once either the account or the address used up its failures."""
        return self._limiter.test(self._item, "account", email) and self._limiter.test(
            self._item, "address", address
        )

    def failed(self, email: str, address: str) -> None:
        self._limiter.hit(self._item, "account", email)
        self._limiter.hit(self._item, "address", address)

    def retry_after_seconds(self, email: str, address: str) -> int:
        resets = max(
            self._limiter.get_window_stats(self._item, "account", email).reset_time,
            self._limiter.get_window_stats(self._item, "address", address).reset_time,
        )
        return max(1, int(resets - time.time()))


@dataclass(frozen=True)
class Authenticator:
    settings: Settings
    users: UserDirectory
    throttle: LoginThrottle

    @classmethod
    def from_settings(cls, settings: Settings) -> Authenticator:
        return cls(settings, UserDirectory(Path(settings.users_file)), LoginThrottle(settings))

    @property
    def secret(self) -> str | None:
        return self.settings.session_secret.get_secret_value() if self.settings.session_secret else None

    def authenticate(self, request: Request) -> User:
        """The signed-in user, or `SignInRequired`."""
        if self.settings.auth_mode == "proxy":
            return self._from_proxy(request)
        return self._from_session(request.cookies.get(SESSION_COOKIE))

    # --- login mode
    def _serializer(self) -> URLSafeTimedSerializer | None:
        return URLSafeTimedSerializer(self.secret, salt="tsync-session") if self.secret else None

    def session_cookie(self, user: StoredUser) -> str:
        serializer = self._serializer()
        if serializer is None:
            raise HTTPException(503, "sign-in is not configured: SESSION_SECRET is not set")
        return str(serializer.dumps({"e": user.email, "p": user.session_fingerprint()}))

    def _from_session(self, cookie: str | None) -> User:
        serializer = self._serializer()
        if serializer is None or not cookie:
            raise SignInRequired("sign in first", can_sign_in_here=True)
        try:
            data = serializer.loads(cookie, max_age=int(self.settings.session_hours * 3600))
        except BadSignature:
            raise SignInRequired("the session expired or is not valid", can_sign_in_here=True) from None
        stored = self.users.get(str(data.get("e", ""))) if isinstance(data, dict) else None
        if stored is None or not hmac.compare_digest(str(data.get("p", "")), stored.session_fingerprint()):
            raise SignInRequired("the session ended: sign in again", can_sign_in_here=True)
        return User(stored.email, stored.role, "login")

    # --- proxy mode
    def _from_proxy(self, request: Request) -> User:
        peer = request.client.host if request.client else ""
        if not self.is_trusted_proxy(peer):
            raise SignInRequired("sign in through the SSO proxy", can_sign_in_here=False)
        email = normalise_email(request.headers.get(self.settings.auth_proxy_header, ""))
        if not email:
            raise SignInRequired("the SSO proxy sent no user", can_sign_in_here=False)
        stored = self.users.get(email)
        if stored is not None:
            return User(stored.email, stored.role, "proxy")
        if self.settings.proxy_default_role == "none":
            raise HTTPException(403, f"{email} has no role here: ask an admin to run `tsync users add`")
        return User(email, Role(self.settings.proxy_default_role), "proxy")

    def is_trusted_proxy(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.settings.trusted_proxy_networks)

    def client_address(self, request: Request) -> str:
        """The peer's address, or the last X-Forwarded-For hop when the peer is a trusted proxy."""
        peer = request.client.host if request.client else "unknown"
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded and self.is_trusted_proxy(peer):
            return forwarded.split(",")[-1].strip()
        return peer

    # --- CSRF
    def csrf_token(self, subject: str, nonce: str) -> str | None:
        """The token a form of `subject` (a user's email, or the sign-in form) carries for this browser."""
        if self.secret is None:
            return None
        message = f"{subject}\n{nonce}".encode()
        return hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()

    def csrf_valid(self, subject: str, request: Request, given: str) -> bool:
        nonce = request.cookies.get(CSRF_COOKIE, "")
        expected = self.csrf_token(subject, nonce) if nonce else None
        return expected is not None and hmac.compare_digest(expected, given)


def new_csrf_nonce() -> str:
    return secrets.token_urlsafe(24)


def authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.auth
    return auth


Auth = Annotated[Authenticator, Depends(authenticator)]


def current_user(request: Request, auth: Auth) -> User:
    """The signed-in user (handlers record decisions with it); `SignInRequired` for a stranger."""
    user = auth.authenticate(request)
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def approver(user: CurrentUser) -> User:
    """The signed-in user if they may approve; 403 for a viewer."""
    if not user.may(Role.APPROVER):
        raise HTTPException(403, f"{user.email} is a {user.role}: this needs the approver role")
    return user


Approver = Annotated[User, Depends(approver)]


def csrf_checked(
    request: Request, auth: Auth, user: CurrentUser, csrf_token: Annotated[str, Form()] = ""
) -> User:
    """The user of a form post that carries their CSRF token; 403 otherwise."""
    if not auth.csrf_valid(user.email, request, csrf_token):
        raise HTTPException(403, "the form's CSRF token is missing or not valid: reload the page")
    return user


CsrfChecked = Annotated[User, Depends(csrf_checked)]
