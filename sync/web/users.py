"""The users of the pages: a JSON file of emails, roles and argon2 password hashes.

`tsync users add EMAIL --role viewer|approver` writes it (0600, atomically);
the web app reads it again whenever the file changes, so adding or removing a
user needs no restart. In proxy mode the file only gives roles (a user may
have no password there).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, Field, TypeAdapter

_HASHER = PasswordHasher()
# Verified when the email is unknown, so an unknown user costs the same time as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")
MIN_PASSWORD_CHARS = 12


class Role(StrEnum):
    VIEWER = "viewer"  # sees plans
    APPROVER = "approver"  # also approves or rejects proposals and other changes to what is sent

    def allows(self, needed: Role) -> bool:
        return needed is Role.VIEWER or self is Role.APPROVER


class StoredUser(BaseModel):
    """One entry of the users file."""

    email: str
    role: Role = Role.VIEWER
    password_hash: str | None = None  # argon2id; None: proxy mode only

    def session_fingerprint(self) -> str:
        """Changes with the password, so a password change ends the user's other sessions."""
        return hashlib.sha256((self.password_hash or "").encode()).hexdigest()[:16]


class UsersDocument(BaseModel):
    users: list[StoredUser] = Field(default_factory=list)


_DOCUMENT = TypeAdapter(UsersDocument)


@dataclass(frozen=True)
class User:
    """Who is asking, as the handlers see them (every decision is recorded with this)."""

    email: str
    role: Role
    via: str  # "login" or "proxy"

    def may(self, needed: Role) -> bool:
        return self.role.allows(needed)


class UsersFileError(ValueError):
    """The users file is missing a value or malformed (the message says which)."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def read_users(path: Path) -> dict[str, StoredUser]:
    """Email -> user; an absent file has no users."""
    if not path.exists():
        return {}
    try:
        document = _DOCUMENT.validate_json(path.read_bytes())
    except ValueError as exc:
        raise UsersFileError(f"{path}: not a users file ({type(exc).__name__})") from None
    return {normalise_email(u.email): u for u in document.users}


def write_users(path: Path, users: dict[str, StoredUser]) -> None:
    """Replace the file atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = UsersDocument(users=sorted(users.values(), key=lambda u: u.email))
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(document.model_dump_json(indent=2) + "\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def add_user(path: Path, email: str, role: Role, password: str | None) -> StoredUser:
    """Add or update one user (a new password replaces the old one, ending their sessions)."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise UsersFileError(f"{email!r} is not an email address")
    if password is not None and len(password) < MIN_PASSWORD_CHARS:
        raise UsersFileError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    users = read_users(path)
    kept = users.get(email)
    password_hash = _HASHER.hash(password) if password is not None else kept.password_hash if kept else None
    users[email] = StoredUser(email=email, role=role, password_hash=password_hash)
    write_users(path, users)
    return users[email]


def remove_user(path: Path, email: str) -> bool:
    users = read_users(path)
    if users.pop(normalise_email(email), None) is None:
        return False
    write_users(path, users)
    return True


class UserDirectory:
    """The users file as the web app reads it: re-read when its modification time changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, StoredUser] = {}
        self._mutex = threading.Lock()

    def get(self, email: str) -> StoredUser | None:
        return self._current().get(normalise_email(email))

    def verify(self, email: str, password: str) -> StoredUser | None:
        """The user if the password is theirs; None otherwise (same cost whether or not they exist)."""
        user = self.get(email)
        try:
            _HASHER.verify(user.password_hash if user and user.password_hash else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        return user if user and user.password_hash else None

    def _current(self) -> dict[str, StoredUser]:
        try:
            stat = self.path.stat()
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = None
        with self._mutex:
            if stamp != self._stamp:
                self._users = read_users(self.path) if stamp else {}
                self._stamp = stamp
            return self._users
