"""Which CRM orgs are configured, and their connectors built from settings.

The only module that turns settings (with their SecretStr values) into
connector constructor arguments; connectors themselves never see `sync/`.
An org's id (SALESFORCE_ORG_KEY, HUBSPOT_ORG_KEY) is only a name: its kind,
and so its connector, comes from which credentials configured it, and code
that starts from a CRM kind (a webhook) looks the org up with `org_of_kind`.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.base import CRMConnector, CRMKind
from connectors.limits import LocalBudget, RedisBudget, RequestBudget
from sync.field_map import load_field_map
from sync.settings import Settings

HUBSPOT_SEARCHES_PER_SECOND = 5.0  # HubSpot's own search limit per token


@dataclass(frozen=True)
class OrgConfig:
    id: str
    kind: CRMKind
    name: str


def configured_orgs(settings: Settings) -> list[OrgConfig]:
    """The orgs whose credentials are set; a CRM without settings is simply not synced."""
    orgs = []
    if settings.salesforce_configured:
        orgs.append(OrgConfig(id=settings.salesforce_org_key, kind=CRMKind.SALESFORCE, name="Salesforce"))
    if settings.hubspot_configured:
        orgs.append(OrgConfig(id=settings.hubspot_org_key, kind=CRMKind.HUBSPOT, name="HubSpot"))
    return orgs


def org_of_kind(settings: Settings, kind: CRMKind | str) -> OrgConfig | None:
    """The configured org of a CRM kind (what a webhook from that CRM is about), if any."""
    return next((o for o in configured_orgs(settings) if o.kind is CRMKind(kind)), None)


def redis_prefix(settings: Settings) -> str:
    """Where this deployment's keys live in a shared Redis (the queue prefix namespaces them)."""
    return f"tsync:{settings.celery_queue_prefix}"


def request_budget(org: OrgConfig, settings: Settings) -> RequestBudget:
    """One budget per org, shared by every worker process when Redis is configured."""
    if org.kind is CRMKind.SALESFORCE:
        rate, per = settings.salesforce_requests_per_second, 1.0
    else:
        rate, per = float(settings.hubspot_requests_per_10s), 10.0
    if settings.redis_url:
        return RedisBudget(settings.redis_url, f"{redis_prefix(settings)}budget:{org.id}", rate, per)
    return LocalBudget(rate, per)


def build_connector(org: OrgConfig, settings: Settings) -> CRMConnector:
    budget = request_budget(org, settings)
    field_map = load_field_map(settings.field_map).for_crm(org.kind)
    if org.kind is CRMKind.SALESFORCE:
        from connectors.salesforce import SalesforceConnector, SalesforceCredentials

        def secret(value: object) -> str | None:
            return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]

        credentials = SalesforceCredentials(
            username=settings.salesforce_username,
            password=secret(settings.salesforce_password),
            security_token=secret(settings.salesforce_security_token),
            domain=settings.salesforce_domain,
            consumer_key=settings.salesforce_consumer_key,
            consumer_secret=secret(settings.salesforce_consumer_secret),
        )
        return SalesforceConnector(
            credentials,
            field_map=field_map,
            base_url=settings.salesforce_base_url,
            api_version=settings.salesforce_api_version,
            budget=budget,
            quota_share=settings.salesforce_quota_share,
            use_territory2=settings.salesforce_use_territory2,
            bulk_threshold=settings.salesforce_bulk_threshold,
            rep_filter=settings.salesforce_rep_filter,
        )
    from connectors.hubspot import HubSpotApiVersion, HubSpotConnector, HubSpotOAuthRefresh

    assert settings.hubspot_access_token is not None
    oauth = None
    if settings.hubspot_client_id and settings.hubspot_client_secret and settings.hubspot_refresh_token:
        oauth = HubSpotOAuthRefresh(
            settings.hubspot_client_id,
            settings.hubspot_client_secret.get_secret_value(),
            settings.hubspot_refresh_token.get_secret_value(),
        )
    # HubSpot limits searches per second per token on top of the burst limit: share that too.
    search_budget = (
        RedisBudget(
            settings.redis_url,
            f"{redis_prefix(settings)}budget:{org.id}:search",
            HUBSPOT_SEARCHES_PER_SECOND,
            1.0,
        )
        if settings.redis_url
        else None
    )
    return HubSpotConnector(
        settings.hubspot_access_token.get_secret_value(),
        field_map=field_map,
        base_url=settings.hubspot_base_url,
        budget=budget,
        oauth=oauth,
        search_budget=search_budget,
        api_version=HubSpotApiVersion(settings.hubspot_api_version),
        rep_teams=settings.hubspot_rep_team_names,
    )
