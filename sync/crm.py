"""Which CRM orgs are configured, and their connectors built from settings.

The only module that turns settings (with their SecretStr values) into
connector constructor arguments; connectors themselves never see `sync/`.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.base import CRMConnector, CRMKind
from connectors.limits import LocalBudget, RedisBudget, RequestBudget
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
        orgs.append(OrgConfig(id="salesforce", kind=CRMKind.SALESFORCE, name="Salesforce"))
    if settings.hubspot_configured:
        orgs.append(OrgConfig(id="hubspot", kind=CRMKind.HUBSPOT, name="HubSpot"))
    return orgs


def request_budget(org: OrgConfig, settings: Settings) -> RequestBudget:
    """One budget per org, shared by every worker process when Redis is configured."""
    if org.kind is CRMKind.SALESFORCE:
        rate, per = settings.salesforce_requests_per_second, 1.0
    else:
        rate, per = float(settings.hubspot_requests_per_10s), 10.0
    if settings.redis_url:
        return RedisBudget(settings.redis_url, f"tsync:budget:{org.id}", rate, per)
    return LocalBudget(rate, per)


def build_connector(org: OrgConfig, settings: Settings) -> CRMConnector:
    budget = request_budget(org, settings)
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
            base_url=settings.salesforce_base_url,
            api_version=settings.salesforce_api_version,
            budget=budget,
            quota_share=settings.salesforce_quota_share,
            use_territory2=settings.salesforce_use_territory2,
        )
    from connectors.hubspot import HubSpotConnector, HubSpotOAuthRefresh

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
        RedisBudget(settings.redis_url, f"tsync:budget:{org.id}:search", HUBSPOT_SEARCHES_PER_SECOND, 1.0)
        if settings.redis_url
        else None
    )
    return HubSpotConnector(
        settings.hubspot_access_token.get_secret_value(),
        base_url=settings.hubspot_base_url,
        budget=budget,
        oauth=oauth,
        search_budget=search_budget,
    )
