"""The plan map's data on its own: shapes, offline basemap, colours, numbers and CSV cells as shown."""

from __future__ import annotations

import csv
import io

from sync.views import PALETTE
from sync.web.basemap import Bounds, cities_near, states_near
from sync.web.exports import csv_text
from sync.web.formats import money, share
from sync.web.hull import convex_hull, core_points


def test_a_territory_shape_is_the_hull_of_its_accounts_and_needs_three_points_that_enclose_an_area() -> None:
    square = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.5, 0.5), (0.2, 0.8)]
    assert sorted(convex_hull(square)) == [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]
    assert convex_hull([(0.0, 0.0), (1.0, 1.0)]) == []
    assert convex_hull([(0.0, 0.0), (1.0, 1.0), (2.0, 2.0)]) == []  # on one line: no shape


def test_one_far_flung_account_does_not_stretch_its_territorys_shape_across_the_country() -> None:
    new_york = [(40.7 + i / 100, -73.9 + (i % 5) / 50) for i in range(30)]
    core = core_points([*new_york, (34.05, -118.24)])
    assert (34.05, -118.24) not in core and len(core) == 30


def test_the_offline_basemap_has_the_states_and_big_cities_around_a_book() -> None:
    new_york = Bounds(40.4, -74.3, 41.0, -73.6)
    names = {s.name for s in states_near(new_york)}
    assert {"New York", "New Jersey", "Connecticut"} <= names and "California" not in names
    assert all(len(p[0]) >= 4 for s in states_near(new_york) for p in s.polygons)
    cities = cities_near(Bounds(32.0, -119.0, 35.0, -116.0))
    assert cities[0].name == "Los Angeles" and len(cities) >= 5
    assert len({c.name for c in cities}) == len(cities)


def test_rep_colours_are_well_apart_and_every_rep_of_a_30_rep_team_gets_its_own() -> None:
    assert len(set(PALETTE)) == len(PALETTE) == 30


def test_absurd_amounts_read_as_such_and_shares_come_from_the_numbers_shown() -> None:
    assert money(1e308) == "over $1T" and money(float("inf")) == "n/a" and money(None) == "n/a"
    assert money(1_234_567) == "$1.2M" and money(830) == "$830"
    assert share(827, 3900) == "21.2 %" and share(1, 0) == "–"


def test_a_csv_cell_that_a_spreadsheet_would_run_as_a_formula_is_written_as_text() -> None:
    rows_in = [("=1+1", 5.0), ("+cmd", None), ("@SUM(A1)", float("inf")), ("Acme", -3)]
    text = csv_text(("name", "potential"), rows_in)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["name", "potential"], ["'=1+1", "5.0"], ["'+cmd", ""], ["'@SUM(A1)", ""], ["Acme", "-3"]]
