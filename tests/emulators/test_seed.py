"""The seeded org is deterministic, realistic in shape, and imperfect the way real CRMs are."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from emulators.seed import TIERS, generate_org
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
