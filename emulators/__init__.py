"""Local emulators of the Salesforce REST and HubSpot CRM v3 APIs, for tests, the demo and benchmarks."""
