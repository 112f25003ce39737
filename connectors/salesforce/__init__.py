"""Salesforce behind the `CRMConnector` protocol (simple-salesforce, REST API v59.0)."""
