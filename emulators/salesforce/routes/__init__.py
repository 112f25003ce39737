"""The Salesforce emulator's routers, one per job (see `emulators.salesforce.app`)."""
