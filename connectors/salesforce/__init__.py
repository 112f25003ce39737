"""Salesforce behind the `CRMConnector` protocol (simple-salesforce, REST API v59.0)."""

from connectors.salesforce.client import RedirectingSession, SalesforceCredentials
from connectors.salesforce.connector import SalesforceConnector

__all__ = ["RedirectingSession", "SalesforceConnector", "SalesforceCredentials"]
