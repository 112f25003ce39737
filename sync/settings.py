"""Typed settings from the environment and `.env`, behind one cached accessor.

Nothing is read at import time: call `get_settings()`. Secrets are `SecretStr`
so they never appear in reprs, logs or error messages; `SettingsError` names
the variable that is wrong and what it expects, without echoing secret values.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

SECRET_URL_PASSWORD = re.compile(r"(://[^:/@?#]*:)[^@/?#]+@")
SECRET_URL_QUERY_VALUE = re.compile(r"([?&][^=&#]+=)[^&#]+")
ORG_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def mask_url(url: str) -> str:
    """Hide the password and query values of a URL (tokens ride there) before it goes near a log."""
    return SECRET_URL_QUERY_VALUE.sub(r"\1***", SECRET_URL_PASSWORD.sub(r"\1***@", url))


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names each variable and what it expects."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,  # `KEY=` lines copied from .env.example mean "unset"
        extra="ignore",
        case_sensitive=False,
    )

    # --- store and queue -----------------------------------------------------------
    database_url: str = Field(
        "sqlite:///./territory-sync.db",
        description="SQLAlchemy URL of the store: a SQLite file (embedded) or PostgreSQL",
    )
    celery_broker_url: str | None = Field(
        None, description="Celery broker (e.g. redis://127.0.0.1:6379/0); unset = tasks run in-process"
    )
    redis_url: str | None = Field(
        None, description="Redis for locks and the shared CRM request budget; unset = in-process"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level")
    celery_queue_prefix: str = Field(
        "", description="Prefix of the Celery queue names (sync, planner), to share one broker"
    )
    celery_visibility_timeout: int = Field(
        3600, gt=0, description="Seconds before a task a dead worker held is delivered again"
    )
    org_lock_seconds: int = Field(
        3600, gt=0, description="Expiry of the one-pipeline-per-org lock (a dead worker frees it)"
    )
    outbox_max_attempts: int = Field(
        5, ge=1, description="Attempts before a rejected CRM change is parked for a human"
    )
    outbox_retry_minutes: float = Field(
        30.0, ge=0, description="First retry delay of a rejected change; doubles per attempt"
    )

    # --- schedule and planning -----------------------------------------------------
    timezone: str = Field("UTC", description="IANA time zone of the nightly run and of call plans")
    nightly_at: str = Field("02:00", description="Local time (HH:MM) of the nightly full run")
    plan_mode: Literal["minimal", "full"] = Field(
        "minimal", description="Nightly rebalance mode: minimal disruption or a clean redesign"
    )
    plan_seconds: float = Field(60.0, gt=0, description="Time limit of one rebalance, in seconds")
    plan_seed: int = Field(0, description="Solver seed; the same seed and inputs give the same plan")
    plan_weeks: int = Field(2, ge=1, le=26, description="Weeks of the call plan pushed to the CRM as visits")
    plan_horizon_weeks: int = Field(
        13, ge=1, le=52, description="Weeks the call plan looks ahead, so every tier gets its visits"
    )
    policy_file: str | None = Field(None, description="Policy TOML (tiers, capacity, balance)")
    field_map: str | None = Field(
        None,
        description="Field map TOML: the CRM fields (and plan-file columns) of tier, potential, effort, "
        "skills, locked, visit windows, territory; unset = territory-sync's custom fields",
    )
    team_file: str | None = Field(
        None, description="Field team CSV (email or crm_id, home, skills, hours...); see docs/crm-setup.md"
    )
    territory_changes: Literal["approve", "auto"] = Field(
        "approve",
        description="Rebalancing moves: approve = a proposal waits for a person; auto = approved at once",
    )

    # --- roads (docs/roads.md) -------------------------------------------------------
    routing_engine: Literal["haversine", "valhalla-local", "valhalla", "osrm"] = Field(
        "haversine",
        description="Drive times: haversine (straight lines), valhalla-local (VALHALLA_TILES), "
        "valhalla or osrm (ROUTING_URL)",
    )
    valhalla_tiles: str | None = Field(
        None, description="valhalla-local: the Valhalla tiles directory (`tsync roads build`)"
    )
    routing_url: str | None = Field(None, description="valhalla or osrm: the routing server's base URL")
    routing_profile: str | None = Field(
        None, description="Valhalla costing (auto, truck, ...) or OSRM profile; unset = the engine's car"
    )
    routing_fallback_penalty: float = Field(
        2.0, ge=1, description="A pair no road connects costs straight-line km × 1.3 × this (and is reported)"
    )
    osrm_url: str | None = Field(
        None, description="Deprecated: read as ROUTING_ENGINE=osrm with ROUTING_URL set to it"
    )

    # --- Salesforce ------------------------------------------------------------------
    salesforce_username: str | None = Field(None, description="Salesforce API user")
    salesforce_password: SecretStr | None = Field(None, description="Salesforce password")
    salesforce_security_token: SecretStr | None = Field(
        None, description="Salesforce security token (appended to the password by the client)"
    )
    salesforce_domain: str = Field("login", description="login, test (sandbox) or a My Domain prefix")
    salesforce_consumer_key: str | None = Field(None, description="Connected app consumer key (OAuth)")
    salesforce_consumer_secret: SecretStr | None = Field(
        None, description="Connected app consumer secret (OAuth)"
    )
    salesforce_base_url: str | None = Field(
        None, description="Send Salesforce calls here instead (emulator, sandbox or recording proxy)"
    )
    salesforce_api_version: str = Field("59.0", description="Salesforce REST API version")
    salesforce_quota_share: float = Field(
        0.5, gt=0, le=1, description="Stop a run once this share of the daily API limit is used"
    )
    salesforce_use_territory2: bool = Field(
        False, description="Also write Enterprise Territory Management associations"
    )
    salesforce_bulk_threshold: int = Field(
        10_000,
        ge=0,
        description="Full pulls of objects with more rows go through Bulk API 2.0; 0 = always REST",
    )
    salesforce_org_id: str | None = Field(None, description="Organization id expected in Outbound Messages")
    salesforce_outbound_secret: SecretStr | None = Field(
        None, description="Shared secret expected on Outbound Message requests"
    )
    salesforce_rep_filter: str | None = Field(
        None, description="SOQL condition on User naming the field team, e.g. Profile.Name = 'Field Sales'"
    )
    salesforce_org_key: str = Field(
        "salesforce",
        description="The Salesforce org's id in the store and for --org (a name, not a secret)",
    )

    # --- HubSpot ---------------------------------------------------------------------
    hubspot_access_token: SecretStr | None = Field(None, description="HubSpot private app token")
    hubspot_base_url: str | None = Field(
        None, description="Send HubSpot calls here instead (emulator or proxy); no trailing slash"
    )
    hubspot_client_secret: SecretStr | None = Field(
        None, description="HubSpot app client secret, for v3 webhook signatures"
    )
    hubspot_client_id: str | None = Field(
        None, description="HubSpot OAuth app client id: with a refresh token, renews expired tokens"
    )
    hubspot_refresh_token: SecretStr | None = Field(
        None, description="HubSpot OAuth refresh token (with HUBSPOT_CLIENT_ID and HUBSPOT_CLIENT_SECRET)"
    )
    hubspot_api_version: Literal["v3", "2026-03", "2026-09"] = Field(
        "v3", description="HubSpot CRM paths: v3, or date-versioned 2026-03 / 2026-09 (v3 ends 2027-09)"
    )
    hubspot_rep_teams: str | None = Field(
        None, description="Comma-separated HubSpot owner team names that form the field team"
    )
    hubspot_org_key: str = Field(
        "hubspot", description="The HubSpot portal's id in the store and for --org (a name, not a secret)"
    )

    # --- limits --------------------------------------------------------------------------
    salesforce_requests_per_second: float = Field(
        20.0, gt=0, description="Shared request budget for one Salesforce org, all workers"
    )
    hubspot_requests_per_10s: int = Field(
        100, gt=0, description="Shared request budget for one HubSpot portal, all workers"
    )

    # --- web ------------------------------------------------------------------------------
    resync_token: SecretStr | None = Field(None, description="Bearer token for POST /resync")
    webhook_max_body_bytes: int = Field(
        1_000_000, gt=0, description="Larger webhook bodies are refused with 413"
    )

    @field_validator("database_url")
    @classmethod
    def _valid_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "expected a SQLAlchemy URL such as sqlite:///./territory-sync.db "
                "or postgresql+psycopg://user@host:5432/db"
            ) from None
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError(f"expected a sqlite or postgresql URL, got {url.get_backend_name()!r}")
        return value

    @field_validator("celery_broker_url", "redis_url")
    @classmethod
    def _valid_service_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not re.match(r"^(redis|rediss|amqp|pyamqp|memory)://", value):
            raise ValueError("expected a redis://, amqp:// or memory:// URL")
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone such as Europe/Berlin") from None
        return value

    @field_validator("nightly_at")
    @classmethod
    def _valid_clock(cls, value: str) -> str:
        m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value)
        if not m:
            raise ValueError("expected a local time as HH:MM, e.g. 02:00")
        return value

    @field_validator("salesforce_org_key", "hubspot_org_key")
    @classmethod
    def _valid_org_key(cls, value: str) -> str:
        if not ORG_KEY.fullmatch(value):
            raise ValueError(
                "expected 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit"
            )
        return value

    @model_validator(mode="after")
    def _distinct_org_keys(self) -> Settings:
        if self.salesforce_org_key == self.hubspot_org_key:
            raise ValueError("SALESFORCE_ORG_KEY and HUBSPOT_ORG_KEY must differ: each names one org")
        return self

    @model_validator(mode="after")
    def _routing_engine_has_its_data(self) -> Settings:
        if self.osrm_url and self.routing_engine == "haversine" and not self.routing_url:
            self.routing_engine, self.routing_url = "osrm", self.osrm_url  # the old setting, still honoured
        if self.routing_engine == "valhalla-local" and not self.valhalla_tiles:
            raise ValueError(
                "ROUTING_ENGINE=valhalla-local needs VALHALLA_TILES, a tiles directory (`tsync roads build`)"
            )
        if self.routing_engine in ("valhalla", "osrm") and not self.routing_url:
            raise ValueError(f"ROUTING_ENGINE={self.routing_engine} needs ROUTING_URL, the server's base URL")
        return self

    @field_validator("hubspot_base_url", "salesforce_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else None

    def __repr_args__(self) -> Any:
        # A URL can carry a password or a token: every URL setting is shown masked, like SecretStr.
        for name, value in super().__repr_args__():
            masked = name is not None and name.endswith("_url") and isinstance(value, str)
            yield name, (mask_url(value) if masked else value)

    # --- derived ----------------------------------------------------------------------------
    @property
    def embedded(self) -> bool:
        """No broker configured: tasks run in-process (the default)."""
        return self.celery_broker_url is None

    @property
    def salesforce_configured(self) -> bool:
        return bool(self.salesforce_username or self.salesforce_consumer_key)

    @property
    def hubspot_configured(self) -> bool:
        return self.hubspot_access_token is not None

    @property
    def hubspot_rep_team_names(self) -> tuple[str, ...]:
        return tuple(_comma_list(self.hubspot_rep_teams or ""))

    def safe_database_url(self) -> str:
        return mask_url(self.database_url)

    # --- web and security ----------------------------------------------------------------
    auth_mode: Literal["login", "proxy"] = Field(
        "login",
        description="How people sign in to the pages: login (USERS_FILE) or proxy (an SSO proxy's header)",
    )
    users_file: str = Field(
        "tsync-users.json", description="Users of the pages: argon2 hashes and roles (`tsync users add`)"
    )
    session_secret: SecretStr | None = Field(
        None, description="Signs session cookies and CSRF tokens (32+ characters); unset = nobody signs in"
    )
    session_hours: float = Field(12.0, gt=0, le=24 * 30, description="A session cookie expires after this")
    auth_proxy_header: str = Field(
        "X-Forwarded-Email", description="proxy mode: the header that carries the signed-in user's email"
    )
    trusted_proxies: str = Field(
        "", description="proxy mode: comma-separated addresses/CIDRs whose AUTH_PROXY_HEADER is believed"
    )
    proxy_default_role: Literal["viewer", "none"] = Field(
        "viewer", description="proxy mode: role of a user not in USERS_FILE (none = refused)"
    )
    allowed_hosts: str = Field(
        "localhost,127.0.0.1,::1", description="Comma-separated Host names the web app answers (*.x allowed)"
    )
    metrics_port: int | None = Field(
        None, gt=0, lt=65536, description="Serve /metrics on this port only, without login; unset = behind it"
    )
    login_max_failures: int = Field(
        5, ge=1, description="Failed sign-ins allowed per account and per address in LOGIN_THROTTLE_MINUTES"
    )
    login_throttle_minutes: float = Field(15.0, gt=0, description="Window of the failed sign-in throttle")

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: str) -> str:
        for part in _comma_list(value):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"expected IP addresses or CIDRs, got {part!r}") from None
        return value

    @field_validator("session_secret")
    @classmethod
    def _strong_session_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("expected at least 32 characters (e.g. `openssl rand -hex 32`)")
        return value

    @property
    def allowed_host_list(self) -> list[str]:
        return _comma_list(self.allowed_hosts)

    @property
    def trusted_proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(part, strict=False) for part in _comma_list(self.trusted_proxies)]


def _comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _describe(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors:
        name = "_".join(str(p) for p in err.get("loc", ()) if p != "__root__").upper() or "SETTINGS"
        msg = str(err.get("msg", "invalid value"))
        msg = msg.removeprefix("Value error, ")
        parts.append(f"{name}: {msg}")
    return "; ".join(parts)


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment (and `.env`), turning validation errors into one line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        # `errors(include_input=False)` keeps the offending (possibly secret) values out.
        raise SettingsError(
            "invalid setting " + _describe(exc.errors(include_input=False))  # type: ignore[arg-type]
        ) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use."""
    return load_settings()
