"""A local HubSpot CRM v3 API for the demo, the tests and the benchmarks (see `app.py`)."""

from emulators.hubspot.app import create_hubspot_app
from emulators.hubspot.limits import HubSpotFaultStyle

__all__ = ["HubSpotFaultStyle", "create_hubspot_app"]
