"""The emulator fixtures of tests/fixtures/ for the tests here, imported by name."""

from tests.fixtures.hubspot import client, hubspot_app, hubspot_server, portal, seed_org
from tests.fixtures.salesforce import org_5k, org_100k, salesforce_emulator, small_org

__all__ = [
    "client",
    "hubspot_app",
    "hubspot_server",
    "org_5k",
    "org_100k",
    "portal",
    "salesforce_emulator",
    "seed_org",
    "small_org",
]
