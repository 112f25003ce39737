"""Real roads in the daemon and in `tsync plan-file`: the engine the settings name, and what it cannot reach.

`open_roads(settings, policy, store=...)` opens the engine `ROUTING_ENGINE`
names (none for `haversine`: the planner's own straight lines) behind a
`CachedTravel` (the store's pairs; without a store, only this run's). Around
the solve:

- `RoadCheck.before_planning` finds the accounts no rep can reach by road
  (off every road, or no route joins them to any rep's home, either way):
  they are left out of planning and listed as unassigned with that reason,
  never planned on a straight line;
- `RoadCheck.after_planning` finds the legs of the call plans that had no
  road route and were timed on the fallback, per account.

Both become record issues by account id (and a rep whose home is off every
road, by rep id), and `RoadCheck.summary` goes into the plan run's summary.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from connectors.base import Stream
from connectors.roads import RoadTravel, RoutingConfig, RoutingEngine, TilesError, TravelError, open_travel
from planner import Account, CallPlan, Policy, Rep, TerritoryPlan, Unassigned
from sync.runs import RecordProblem
from sync.settings import Settings, SettingsError
from sync.store.plan_summary import RoadsSummary
from sync.travel_cache import CachedTravel, point_key

Point = tuple[float, float]


class RoutingNotReady(SettingsError):
    """The routing engine the settings name cannot be opened (no tiles, no package): one line."""


def routing_config(settings: Settings, policy: Policy, *, engine: str | None = None) -> RoutingConfig:
    """The settings' engine (or `engine`), with the policy's straight-line model for the fallback."""
    name = engine or settings.routing_engine
    try:
        chosen = RoutingEngine(name)
    except ValueError:
        names = ", ".join(e.value for e in RoutingEngine)
        raise RoutingNotReady(f"routing engine {name!r} is not one of {names}") from None
    return RoutingConfig(
        engine=chosen,
        url=settings.routing_url,
        tiles=Path(settings.valhalla_tiles) if settings.valhalla_tiles else None,
        profile=settings.routing_profile,
        speed_kmh=policy.travel.speed_kmh,
        circuity=policy.travel.circuity,
        fallback_penalty=settings.routing_fallback_penalty,
    )


def open_engine(config: RoutingConfig) -> RoadTravel:
    """The engine, or `RoutingNotReady` saying in one line what is missing."""
    try:
        return open_travel(config)
    except (ValueError, TilesError, TravelError) as exc:
        raise RoutingNotReady(f"ROUTING_ENGINE={config.engine.value}: {exc}") from None


def open_roads(
    settings: Settings, policy: Policy, *, store: Engine | None = None, engine: str | None = None
) -> CachedTravel | None:
    """The road travel of one run, or None when the engine is `haversine` (the planner's own model)."""
    config = routing_config(settings, policy, engine=engine)
    if config.engine is RoutingEngine.HAVERSINE:
        return None
    return CachedTravel(open_engine(config), store)


def check_routing(settings: Settings) -> None:
    """Open and close the settings' engine, so a missing tiles directory fails at start, in one line."""
    config = routing_config(settings, Policy())
    if config.engine is not RoutingEngine.HAVERSINE:
        open_engine(config).close()


def roads_line(roads: RoadsSummary) -> str | None:
    """One line for `tsync report`: which engine timed the plan and what the roads could not do."""
    if roads.engine == RoutingEngine.HAVERSINE.value:
        return None
    return (
        f"Roads: {roads.engine} ({roads.profile}, data {roads.data_version}): "
        f"{roads.unreachable_accounts} account(s) no rep can reach by road (unassigned), "
        f"{roads.fallback_legs} planned drive(s) with no road route (straight line × penalty); "
        f"engine asked {roads.engine_requests} time(s) for {roads.pairs_routed} pairs, "
        f"{roads.pairs_from_store} pairs from the store"
    )


@dataclass(frozen=True)
class PlannedStop:
    """A stop of a drawn route: its day, its place in the day's order, where it is."""

    day: date
    sequence: int
    lat: float
    lon: float


def day_paths(
    stops: Sequence[PlannedStop], home: Point | None, engine: RoadTravel
) -> dict[date, tuple[Point, ...]]:
    """Per day, the road geometry from home through the stops in order and back (if the engine has one)."""
    by_day: dict[date, list[PlannedStop]] = defaultdict(list)
    for stop in stops:
        by_day[stop.day].append(stop)
    paths: dict[date, tuple[Point, ...]] = {}
    for day, day_stops in sorted(by_day.items()):
        points = [(s.lat, s.lon) for s in sorted(day_stops, key=lambda s: s.sequence)]
        shape = engine.route_shape([*([home] if home else []), *points, *([home] if home else [])])
        if shape:
            paths[day] = shape
    return paths


def map_engine(settings: Settings) -> RoadTravel | None:
    """The engine that draws routes along the roads on maps, or None (haversine: straight legs)."""
    config = routing_config(settings, Policy())
    return None if config.engine is RoutingEngine.HAVERSINE else open_engine(config)


def _home(rep: Rep) -> Point:
    return (rep.home_lat, rep.home_lon)


def _spot(account: Account) -> Point:
    assert account.lat is not None and account.lon is not None
    return (account.lat, account.lon)


@dataclass
class RoadCheck:
    """What the roads could not do for one plan: accounts out of reach, reps off road, fallback legs."""

    travel: CachedTravel | None
    unreachable: dict[str, str] = field(default_factory=dict)  # account id → why
    homes_off_road: tuple[str, ...] = ()
    fallback_legs: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # account → legs

    @property
    def max_snap_km(self) -> float:
        return 2.0 if self.travel is None else self.travel.engine.max_snap_m / 1000.0

    # ------------------------------------------------------------------ before the solve

    def before_planning(self, accounts: Sequence[Account], reps: Sequence[Rep]) -> list[Account]:
        """The accounts to plan: those some rep can drive to and back from by road."""
        located = [a for a in accounts if a.located]
        if self.travel is None or not located or not reps:
            return list(accounts)
        homes = np.array([_home(r) for r in reps], dtype=np.float64)
        points = np.array([_spot(a) for a in located], dtype=np.float64)
        out, back = self.travel.table(homes, points), self.travel.table(points, homes)
        self.homes_off_road = tuple(r.id for r, off in zip(reps, out.unsnapped_origins, strict=True) if off)
        round_trip = ~out.flagged & ~back.flagged.T  # (reps, accounts): there and back by road
        for k, account in enumerate(located):
            if not round_trip[:, k].any():
                self.unreachable[account.id] = self._why(bool(out.unsnapped_destinations[k]))
        return [a for a in accounts if a.id not in self.unreachable]

    def _why(self, off_road: bool) -> str:
        if off_road:
            return f"no rep can reach it by road: no drivable road within {self.max_snap_km:g} km of it"
        return (
            "no rep can reach it by road: no route joins it to any rep's home "
            "(one-way or car-free streets, or the edge of the road data)"
        )

    def with_unreachable(self, plan: TerritoryPlan) -> TerritoryPlan:
        """The plan with the accounts left out for the roads listed as unassigned, with why."""
        if not self.unreachable:
            return plan
        left_out = [Unassigned(a, why) for a, why in self.unreachable.items()]
        unassigned = sorted([*plan.unassigned, *left_out], key=lambda u: u.account_id)
        return replace(plan, unassigned=tuple(unassigned))

    # ------------------------------------------------------------------ after the solve

    def after_planning(
        self, call_plans: Mapping[str, CallPlan], accounts: Sequence[Account], reps: Sequence[Rep]
    ) -> None:
        """Note every planned leg that had no road route (timed on the fallback), on its accounts."""
        if self.travel is None:
            return
        where = {a.id: _spot(a) for a in accounts if a.located}
        home = {r.id: _home(r) for r in reps}
        for rep_id, cp in call_plans.items():
            for day in cp.days:
                stops = [(v.account_id, where[v.account_id]) for v in day.visits if v.account_id in where]
                path = [(None, home[rep_id]), *stops, (None, home[rep_id])]
                for (a_id, a), (b_id, b) in pairwise(path):
                    if self.travel.no_route(a, b):
                        leg = f"{a_id or 'home'} → {b_id or 'home'} on {day.date.isoformat()}"
                        for account_id in {a_id, b_id} - {None}:
                            assert account_id is not None
                            self.fallback_legs[account_id].append(leg)

    def close(self) -> None:
        if self.travel is not None:
            self.travel.close()

    # ------------------------------------------------------------------ the report

    def problems(self) -> list[RecordProblem]:
        """Record issues by id: reps off road, and accounts with legs timed on the fallback."""
        found = [
            RecordProblem(Stream.REPS, rep_id, f"home has no drivable road within {self.max_snap_km:g} km")
            for rep_id in self.homes_off_road
        ]
        for account_id, legs in sorted(self.fallback_legs.items()):
            shown = "; ".join(legs[:3]) + (f"; and {len(legs) - 3} more" if len(legs) > 3 else "")
            found.append(
                RecordProblem(
                    Stream.ACCOUNTS,
                    account_id,
                    f"{len(legs)} planned drive(s) have no road route, timed as a straight line "
                    f"× a penalty: {shown}",
                )
            )
        return found

    def document(self) -> dict[str, Any]:
        """plan.json's "roads": the engine, the accounts out of reach, the legs timed on the fallback."""
        summary = self.summary()
        return {
            "engine": summary.engine,
            "profile": summary.profile,
            "data_version": summary.data_version,
            "unreachable": [{"account_id": a, "reason": why} for a, why in sorted(self.unreachable.items())],
            "homes_off_road": list(self.homes_off_road),
            "fallback_legs": {a: list(legs) for a, legs in sorted(self.fallback_legs.items())},
        }

    def summary(self) -> RoadsSummary:
        if self.travel is None:
            return RoadsSummary()
        key, counts = self.travel.key, self.travel.counts
        return RoadsSummary(
            engine=key.engine,
            profile=key.profile,
            data_version=key.data_version,
            engine_requests=counts.engine_requests,
            pairs_routed=counts.pairs_routed,
            pairs_from_store=counts.pairs_from_store,
            unreachable_accounts=len(self.unreachable),
            fallback_legs=len({leg for legs in self.fallback_legs.values() for leg in legs}),
        )


__all__ = [
    "PlannedStop",
    "RoadCheck",
    "RoutingNotReady",
    "check_routing",
    "day_paths",
    "map_engine",
    "open_engine",
    "open_roads",
    "point_key",
    "roads_line",
    "routing_config",
]
