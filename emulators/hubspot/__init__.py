"""A local HubSpot CRM v3 API for the demo, the tests and the benchmarks (see `app.py`)."""

from emulators.hubspot.app import create_hubspot_app

__all__ = ["create_hubspot_app"]
