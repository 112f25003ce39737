"""HubSpot CRM v3 behind `connectors.base.CRMConnector`: companies, owners, meetings and calls."""

from connectors.hubspot.client import HubSpotAPIError, HubSpotOAuthRefresh
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.versions import HubSpotApiVersion

__all__ = ["HubSpotAPIError", "HubSpotApiVersion", "HubSpotConnector", "HubSpotOAuthRefresh"]
