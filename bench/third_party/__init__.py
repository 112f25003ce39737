"""Third-party clients (tap-salesforce, Airbyte's Salesforce source, Meltano's HubSpot tap, jsforce)
run unpatched against the emulators: `python -m bench.third_party` (see `__main__.py`)."""
