"""`tsync`: the command line of territory-sync (Typer + Rich).

Commands stay thin: they parse options, call one function of `sync/` (or of
`connectors/emulators` for `tsync emulator`) and print what it returns.
Heavy imports happen inside the commands so `tsync --help` stays fast.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from sync.settings import SettingsError, get_settings

app = typer.Typer(
    name="tsync",
    help="Keep CRM sales territories and call plans balanced, compact and executable.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals can hold credentials
)
db_app = typer.Typer(help="Manage the store's schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Apply the store's migrations (SQLite or PostgreSQL, from DATABASE_URL)."""
    from sync.store.schema import upgrade

    settings = get_settings()
    upgrade(settings.database_url, revision)
    console.print(f"store at {settings.safe_database_url()} is at revision [bold]{revision}[/]")


@app.command()
def demo() -> None:
    """Run the whole job on a seeded emulated CRM with SQLite: no services, no credentials."""
    console.print(
        "The demo will start both CRM emulators with a seeded org, pull, rebalance, "
        "plan calls and push back, then print the before/after balance. "
        "It lands with the demo issue."
    )


def main() -> None:
    """Console entry point: a bad setting is one line on stderr and exit code 2, not a traceback."""
    try:
        app()
    except SettingsError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
