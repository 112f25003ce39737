"""The web app of territory-sync: CRM webhooks, the ops resync trigger, plan pages, health, metrics."""

from sync.web.app import create_app

__all__ = ["create_app"]
