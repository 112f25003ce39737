"""A small book on Helsinki's road network for the daemon's road tests: homes, shops, and places cars miss."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bench.roads import car_reachable
from connectors.roads import LocalValhalla
from tests.connectors.roads.conftest import helsinki_points

TAMPERE = (61.4978, 23.7610)  # 150 km from the extract: no road of the tiles near it
NO_CAR_IN, NO_CAR_OUT = 8, 14  # of helsinki_points(40, seed=60): nothing drives to 8, nothing leaves 14


@dataclass(frozen=True)
class HelsinkiBook:
    homes: NDArray[np.float64]  # (2, 2): where two reps live, reachable by car
    shops: NDArray[np.float64]  # (20, 2): accounts cars can reach and leave
    spare: NDArray[np.float64]  # more such points, for accounts added later
    no_car_in: tuple[float, float]  # on a street no car can drive to
    no_car_out: tuple[float, float]  # on a street no car can leave


def helsinki_book(tiles: Path) -> HelsinkiBook:
    points = np.round(helsinki_points(40, seed=60), 5)
    table = LocalValhalla(tiles).table(points, points)
    assert table.flagged[:, NO_CAR_IN].sum() == 39 and table.flagged[NO_CAR_OUT].sum() == 35
    reachable = points[np.flatnonzero(car_reachable(table))]
    return HelsinkiBook(
        homes=reachable[:2],
        shops=reachable[2:22],
        spare=reachable[22:],
        no_car_in=(float(points[NO_CAR_IN, 0]), float(points[NO_CAR_IN, 1])),
        no_car_out=(float(points[NO_CAR_OUT, 0]), float(points[NO_CAR_OUT, 1])),
    )
