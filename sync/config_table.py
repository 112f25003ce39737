"""`.env.example` and docs/configuration.md's table, generated from the settings class.

Tests keep both in step with `sync/settings.py`: `python -m sync.config_table`
prints the table, `python -m sync.config_table env` the example file.
"""

from __future__ import annotations

from pydantic import SecretStr

from sync.settings import Settings


def configuration_table() -> str:
    lines = ["| variable | default | what it does |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.default
        if default is None:
            shown = "unset"
        elif isinstance(default, bool):
            shown = f"`{str(default).lower()}`"
        elif default == "":
            shown = '`""`'
        else:
            shown = f"`{default}`"
        secret = (
            " (secret)"
            if field.annotation is not None
            and SecretStr in getattr(field.annotation, "__args__", (field.annotation,))
            else ""
        )
        lines.append(f"| `{name.upper()}` | {shown} | {field.description}{secret} |")
    return "\n".join(lines)


GROUPS = {
    "database_url": "Store and queue",
    "timezone": "Schedule and planning",
    "salesforce_username": "Salesforce (leave unset to skip Salesforce)",
    "hubspot_access_token": "HubSpot (leave unset to skip HubSpot)",
    "salesforce_requests_per_second": "Shared CRM request budgets",
    "resync_token": "Web (webhooks, /resync, /plans)",
}


def env_example() -> str:
    lines = [
        "# territory-sync settings. Copy to .env and fill in what you use; every line is optional.",
        "# Environment variables override .env; empty values mean unset. Secrets are never logged.",
    ]
    for name, field in Settings.model_fields.items():
        if name in GROUPS:
            lines += ["", f"# --- {GROUPS[name]}"]
        default = field.default
        value = "" if default is None else str(default).lower() if isinstance(default, bool) else str(default)
        lines += [f"# {field.description}", f"{name.upper()}={value}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    print(env_example() if sys.argv[1:] == ["env"] else configuration_table(), end="")
