"""What `tsync` prints: CRM text is shown as text, and the nightly loop wakes at the right time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sync.console import console, print_diff
from sync.diff import AccountChange, PlanDiff, RepDiff
from sync.nightly import next_run_at

BERLIN = ZoneInfo("Europe/Berlin")


def test_names_from_the_crm_are_printed_as_text_not_read_as_rich_markup() -> None:
    gained = AccountChange("001", "[link=https://evil.example]Acme[/link]", None, "rebalanced")
    rep = RepDiff("005", "[bold red]Boss[/]", gained=[gained])
    with console.capture() as captured:
        print_diff("acme", PlanDiff(plan_run_id=7, changes=[], reps={"005": rep}, left_alone=[]))
    text = captured.get()
    assert "[link=https://evil.example]Acme[/link] → [bold red]Boss[/]: rebalanced" in text


def test_the_nightly_run_is_due_today_before_its_time_and_tomorrow_from_it_on() -> None:
    at = "02:00"
    evening = datetime(2026, 3, 28, 23, 30, tzinfo=BERLIN)
    assert next_run_at(evening, at) == datetime(2026, 3, 29, 2, 0, tzinfo=BERLIN)
    early = datetime(2026, 3, 29, 1, 59, tzinfo=BERLIN)
    assert next_run_at(early, at) == datetime(2026, 3, 29, 2, 0, tzinfo=BERLIN)
    on_time = datetime(2026, 3, 29, 2, 0, tzinfo=BERLIN)
    assert next_run_at(on_time, at) == datetime(2026, 3, 30, 2, 0, tzinfo=BERLIN)
