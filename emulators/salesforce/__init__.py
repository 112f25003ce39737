"""A local Salesforce REST API for the demo, the tests and the benchmarks (see `app.py`)."""

from emulators.salesforce.app import create_salesforce_app
from emulators.salesforce.context import SalesforceOrgCredentials
from emulators.salesforce.fault_style import DEFAULT_DAILY_LIMIT, SalesforceFaultStyle

__all__ = ["DEFAULT_DAILY_LIMIT", "SalesforceFaultStyle", "SalesforceOrgCredentials", "create_salesforce_app"]
