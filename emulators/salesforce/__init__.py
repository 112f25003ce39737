"""A local Salesforce REST API for the demo, the tests and the benchmarks (see `app.py`)."""

from emulators.salesforce.app import SalesforceOrgCredentials, create_salesforce_app

__all__ = ["SalesforceOrgCredentials", "create_salesforce_app"]
