"""The HubSpot emulator's routers, one per job (see `emulators.hubspot.app`)."""
