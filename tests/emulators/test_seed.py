"""The seeded org is deterministic, realistic in shape, and imperfect the way real CRMs are."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from emulators.salesforce.schema import TIME_ZONES
from emulators.seed import (
    SKILLS,
    TEAM_FILE_COLUMNS,
    TIERS,
    DealStage,
    Profile,
    Role,
    Team,
    generate_org,
    write_team_file,
)
from tests.fixtures.salesforce import TimedOrg

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


def test_same_seed_gives_the_same_org_and_another_seed_does_not() -> None:
    a = generate_org(2_000, 12, seed=7, as_of=AS_OF)
    b = generate_org(2_000, 12, seed=7, as_of=AS_OF)
    c = generate_org(2_000, 12, seed=8, as_of=AS_OF)
    assert a == b
    assert a.accounts != c.accounts


def test_tiers_are_roughly_15_35_50_percent_and_follow_potential() -> None:
    org = generate_org(20_000, 40, seed=1, as_of=AS_OF)
    tiers = Counter(a.tier for a in org.accounts if a.tier in TIERS)
    total = sum(tiers.values())
    assert abs(tiers["A"] / total - 0.15) < 0.03
    assert abs(tiers["B"] / total - 0.35) < 0.03
    assert abs(tiers["C"] / total - 0.50) < 0.03

    def median(tier: str) -> float:
        values = sorted(a.potential for a in org.accounts if a.tier == tier and a.potential is not None)
        return values[len(values) // 2]

    assert median("A") > median("B") > median("C") > 0


def test_accounts_cluster_in_real_metros_with_real_zip_codes() -> None:
    org = generate_org(5_000, 20, seed=2, as_of=AS_OF)
    placed = [a for a in org.accounts if a.lat is not None and a.lon is not None]
    # Contiguous US bounding box.
    assert all(24.0 < a.lat < 50.0 and -125.0 < a.lon < -66.0 for a in placed)  # type: ignore[operator]
    assert all(a.postal_code and len(a.postal_code) == 5 for a in placed)
    # A big metro gets many accounts: New York's 5-digit ZIPs start with 0, 1 (NY/NJ/CT).
    assert sum(1 for a in placed if a.state in {"NY", "NJ"}) > 0.04 * len(placed)


def test_a_share_of_records_is_imperfect_like_a_real_crm() -> None:
    org = generate_org(10_000, 30, seed=3, imperfect_share=0.06, as_of=AS_OF)
    defects = Counter(a.defect for a in org.accounts)
    assert 0.04 < (len(org.accounts) - defects[""]) / len(org.accounts) < 0.08
    no_coords = [a for a in org.accounts if a.defect == "no_coordinates"]
    assert no_coords and all(a.lat is None and a.postal_code for a in no_coords)
    assert any(a.lat is None and a.postal_code is None for a in org.accounts)
    assert any(a.tier not in TIERS for a in org.accounts)
    assert any(a.potential is None for a in org.accounts)
    assert any(a.potential is not None and a.potential < 0 for a in org.accounts)
    inactive = {r.index for r in org.reps if not r.active}
    assert inactive and any(a.owner_index in inactive for a in org.accounts)


def test_books_are_drifted_unbalanced_and_visits_follow_owners() -> None:
    org = generate_org(10_000, 30, seed=4, as_of=AS_OF)
    books = Counter(a.owner_index for a in org.accounts)
    assert max(books.values()) > 3 * min(books.values())
    owner_of = {a.index: a.owner_index for a in org.accounts}
    by_owner = sum(1 for v in org.activities if v.owner_index == owner_of[v.account_index])
    assert by_owner / len(org.activities) > 0.8
    assert all(v.end <= AS_OF and (AS_OF - v.start).days <= 366 for v in org.activities)


def test_hundred_thousand_accounts_seed_in_well_under_ten_seconds(org_100k: TimedOrg) -> None:
    assert len(org_100k.org.accounts) == 100_000
    assert org_100k.seconds < 10.0


def test_a_regional_org_keeps_to_its_metros_and_their_countryside() -> None:
    from planner.travel import great_circle_km

    org = generate_org(1500, 12, seed=4, metros=3)
    metros = {r.metro for r in org.reps}
    assert len(metros) <= 3
    homes = [(r.home_lat, r.home_lon) for r in org.reps]
    located = [(a.lat, a.lon) for a in org.accounts if a.lat is not None and a.lon is not None]
    nearest = great_circle_km(located, homes).min(axis=1)
    # Every account is within a (long) day's drive of some rep's home.
    assert float(nearest.max()) < 250.0


def test_staff_are_not_field_reps_and_the_integration_user_owns_the_imported_accounts() -> None:
    org = generate_org(600, 10, seed=4, as_of=AS_OF, staff=True)
    assert len(org.reps) == 10 and len(org.users) == 15
    staff = [u for u in org.users if not u.is_field_rep]
    assert {u.profile for u in staff} == {
        Profile.ADMIN,
        Profile.INTEGRATION,
        Profile.SALES_MANAGER,
        Profile.INSIDE_SALES,
    }
    assert all(u.home_lat is None and u.home_postal_code is None for u in staff)
    books = Counter(org.users[a.owner_index].profile for a in org.accounts)
    assert books[Profile.INTEGRATION] == 40
    assert (
        books[Profile.SALES_MANAGER] == 5 and books[Profile.INSIDE_SALES] == 6 and books[Profile.ADMIN] == 2
    )
    assert org.integration_user is not None and org.integration_user.email == "integration@example.com"


def test_adding_staff_moves_only_their_books_and_leaves_the_rest_of_the_org_as_it_was() -> None:
    plain = generate_org(600, 10, seed=4, as_of=AS_OF)
    with_staff = generate_org(600, 10, seed=4, as_of=AS_OF, staff=True)
    assert plain.reps == with_staff.reps and plain.activities == with_staff.activities
    moved = [
        (a, b)
        for a, b in zip(plain.accounts, with_staff.accounts, strict=True)
        if a.owner_index != b.owner_index
    ]
    assert len(moved) == 40 + 5 + 6 + 2
    assert all(not with_staff.users[b.owner_index].is_field_rep for _, b in moved)
    assert all(
        a.name == b.name and a.potential == b.potential
        for a, b in zip(plain.accounts, with_staff.accounts, strict=True)
    )


def test_reps_carry_skills_a_ramping_share_an_overlay_role_days_off_and_a_short_week() -> None:
    org = generate_org(800, 12, seed=6, as_of=AS_OF)
    team = org.field_team
    held = {skill for rep in team for skill in rep.skills}
    assert held == set(SKILLS)
    needed = [a for a in org.accounts if a.required_skills]
    assert 0.02 < len(needed) / len(org.accounts) < 0.3
    # A skilled account is owned by a rep who has the skill.
    assert all(set(a.required_skills) <= set(org.users[a.owner_index].skills) for a in needed)
    assert [r.target_share for r in team if r.target_share is not None] == [0.5]
    overlay = [r for r in team if r.overlay]
    assert len(overlay) == 1 and overlay[0].role is Role.OVERLAY_SPECIALIST
    assert Team.SPECIALISTS in overlay[0].teams and "Medical devices" in overlay[0].skills
    off = [r for r in team if r.days_off]
    assert len(off) == 1 and all(d.first > AS_OF.date() for d in off[0].days_off)
    short = [r for r in team if r.working_days]
    assert len(short) == 1 and short[0].working_days == ("Mon", "Tue", "Wed", "Thu")
    assert short[0].day_start is not None and short[0].day_end is not None
    assert {r.time_zone for r in team} <= set(TIME_ZONES) and len({r.time_zone for r in team}) > 1


def test_the_team_file_lists_the_active_field_team_with_each_reps_facts(tmp_path: Path) -> None:
    org = generate_org(800, 12, seed=6, as_of=AS_OF, staff=True)
    path = write_team_file(org, tmp_path / "team.csv")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == TEAM_FILE_COLUMNS
        rows = {row["email"]: row for row in reader}
    assert set(rows) == {r.email for r in org.field_team}
    assert all(row["home_postal_code"] for row in rows.values())
    assert any(row["home_lat"] for row in rows.values()) and any(not row["home_lat"] for row in rows.values())
    by_fact = {
        "ramping": next(r for r in org.field_team if r.target_share is not None),
        "overlay": next(r for r in org.field_team if r.overlay),
        "off": next(r for r in org.field_team if r.days_off),
        "short": next(r for r in org.field_team if r.working_days),
    }
    assert rows[by_fact["ramping"].email]["target_share"] == "0.5"
    assert rows[by_fact["overlay"].email]["overlay"] == "true"
    assert ";" in rows[by_fact["off"].email]["days_off"] and ".." in rows[by_fact["off"].email]["days_off"]
    short = rows[by_fact["short"].email]
    assert (short["working_days"], short["day_start"], short["day_end"]) == (
        "Mon;Tue;Wed;Thu",
        "07:30",
        "16:00",
    )
    skilled = next(r for r in org.field_team if len(r.skills) > 1)
    assert rows[skilled.email]["skills"] == ";".join(skilled.skills)


def test_deals_are_open_pipeline_or_closed_in_the_past_year_and_owned_with_their_account() -> None:
    org = generate_org(1_000, 10, seed=8, as_of=AS_OF)
    deals = org.opportunities
    opened = [d for d in deals if not d.stage.is_closed]
    closed = [d for d in deals if d.stage.is_closed]
    assert 0.15 < len(opened) / len(org.accounts) < 0.35 and 0.25 < len(closed) / len(org.accounts) < 0.45
    assert all(AS_OF.date() < d.close_date <= (AS_OF + timedelta(days=181)).date() for d in opened)
    assert all((AS_OF - timedelta(days=366)).date() <= d.close_date < AS_OF.date() for d in closed)
    assert {d.stage for d in closed} == {DealStage.CLOSED_WON, DealStage.CLOSED_LOST}
    assert all(d.owner_index == org.accounts[d.account_index].owner_index for d in deals)
    assert all(d.created_at < d.modified_at <= AS_OF and d.amount >= 1000 for d in deals)
