"""The periodic routing engine: choose each stop's visit days, then route every day.

A periodic problem is a horizon of days, each with its own fleet (`DayFleet`),
and stops that must be visited on exactly the days of one of their allowed
patterns. Call plans (one rep, ~65 working days) and the classic Cordeau PVRP
instances are both adapters over `solve_periodic`.

The method is a two-level local search:

* pattern level (here, numpy): moving a stop to another pattern is priced as the
  cheapest feasible insertion on the days it gains minus the saving on the days
  it leaves, against the current routes, for all days in one vectorised step;
  improving moves are applied one at a time;
* route level (`planner.routing`, PyVRP): changed days are re-optimised by local
  search; one-visit stops that may go on a run of days are left to PyVRP itself
  in a model of all days at once (`route_days`), which also polishes the end result
  (or, with many days, each day is polished alone).

Between full passes, ruin-and-recreate rounds remove a cluster of related stops
and reinsert them with noise, or make room for a visit that is still missing by
moving one-visit stops to the roomiest days; a round is kept if it beats the
current plan by a small threshold. Everything is driven by the seed; the time
limit only cuts the search short.
"""

from __future__ import annotations

import random
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from planner.routing import (
    DayFleet,
    DayRoutes,
    RouteStop,
    ScheduledStop,
    improve_day,
    route_day,
    route_days,
)

_UNSERVED_PENALTY = 10**9


@dataclass(frozen=True, slots=True)
class PeriodicStop:
    """A stop that needs one visit on each day of one of its `patterns` (sorted day indices)."""

    location: int
    patterns: tuple[tuple[int, ...], ...]
    service: int = 0
    demand: int = 0
    window: tuple[int, int] | None = None
    # per day of the horizon, the window that day (None: none); overrides `window` when given
    day_windows: tuple[tuple[int, int] | None, ...] | None = None

    def window_on(self, day: int) -> tuple[int, int] | None:
        """The start-of-service window on day `day`."""
        return self.window if self.day_windows is None else self.day_windows[day]

    @property
    def windowed(self) -> bool:
        """Whether some day has a window for this stop."""
        if self.day_windows is None:
            return self.window is not None
        return any(w is not None for w in self.day_windows)


@dataclass(frozen=True)
class PeriodicProblem:
    travel: NDArray[np.int64]  # square, integer, indexed by `location`
    stops: tuple[PeriodicStop, ...]
    days: tuple[DayFleet, ...]

    def __post_init__(self) -> None:
        n_days = len(self.days)
        for k, stop in enumerate(self.stops):
            if stop.day_windows is not None and len(stop.day_windows) != n_days:
                raise ValueError(f"stop {k}: {len(stop.day_windows)} day windows for {n_days} days")
            for pattern in stop.patterns:
                if any(not 0 <= d < n_days for d in pattern) or list(pattern) != sorted(set(pattern)):
                    raise ValueError(f"stop {k}: pattern {pattern} is not sorted days in range")


@dataclass(frozen=True, slots=True)
class EngineParams:
    """Search settings, separate from the data; `from_toml("")` gives these defaults."""

    max_rounds: int | None = 40  # ruin-and-recreate rounds; None = until the time limit
    ruin_size: int = 20  # stops removed per ruin, picked around a random seed stop
    descend_every: int = 1  # rounds between full passes of pattern moves (1: every round)
    joint_days: bool = True  # route all days in one PyVRP model (slow with many days)
    joint_every: int = 25  # most rounds between two runs of PyVRP on all days at once
    chunk_iterations: int = 500  # PyVRP ILS iterations on all days in such a run
    final_iterations: int = 20_000  # PyVRP ILS iterations on all days for the final polish
    polish_share: float = 0.15  # of the time limit kept for the final polish
    accept_worse: float = 0.005  # accept a ruin result up to this share above the current

    @classmethod
    def from_toml(cls, text: str) -> EngineParams:
        data = tomllib.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown engine parameters: {sorted(unknown)}")
        return replace(cls(), **data)


@dataclass(frozen=True)
class PeriodicSolution:
    """Chosen patterns, and per day the routes with service start times."""

    patterns: tuple[tuple[int, ...] | None, ...]  # None: the stop could not be served
    days: tuple[DayRoutes, ...]  # stop indices in `DayRoutes` are indices into `problem.stops`
    cost: int  # total travel over all days
    unserved: tuple[int, ...]  # stops on no route at all
    missing: tuple[tuple[int, int], ...]  # (stop, day) visits of a chosen pattern left out
    rounds: int
    seconds: float


# --------------------------------------------------------------------------- state


class _Plan:
    """Mutable routes of every day, with the cached loads and work used to price moves."""

    def __init__(self, problem: PeriodicProblem) -> None:
        self.p = problem
        self.T = problem.travel
        self.routes: list[list[list[int]]] = [[] for _ in problem.days]
        self.pattern: list[tuple[int, ...] | None] = [None] * len(problem.stops)
        self.on: list[set[int]] = [set() for _ in problem.stops]  # days a stop is routed on
        self.partial_ok = False
        self.loc = np.array([s.location for s in problem.stops], dtype=np.int64)
        self.service = np.array([s.service for s in problem.stops], dtype=np.int64)
        self.demand = np.array([s.demand for s in problem.stops], dtype=np.int64)
        self.has_windows = any(s.windowed for s in problem.stops)
        self._edges: list[tuple[NDArray[np.int64], ...] | None] = [None] * len(problem.days)
        self._all: tuple[NDArray[Any], ...] | None = None
        self._patterns: dict[int, tuple[NDArray[np.int64], NDArray[np.float64]]] = {}
        big = np.iinfo(np.int64).max // 4
        self._starts = np.array([f.start for f in problem.days], dtype=np.int64)
        self._ends = np.array([f.end for f in problem.days], dtype=np.int64)
        self._day_cap = np.array(
            [f.capacity if f.capacity is not None else big for f in problem.days], dtype=np.int64
        )
        self._day_work = np.array(
            [f.max_work if f.max_work is not None else big for f in problem.days], dtype=np.int64
        )

    def copy(self) -> _Plan:
        other = _Plan.__new__(_Plan)
        other.__dict__.update(self.__dict__)
        other.routes = [[list(r) for r in day] for day in self.routes]
        other.pattern = list(self.pattern)
        other.on = [set(days) for days in self.on]
        other._edges = [None] * len(self.p.days)
        other._all = None
        return other

    # -- measures

    def route_cost(self, d: int, route: Sequence[int]) -> int:
        fleet = self.p.days[d]
        path = [fleet.start, *(int(self.loc[i]) for i in route), fleet.end]
        return int(self.T[path[:-1], path[1:]].sum())

    def day_cost(self, d: int) -> int:
        return sum(self.route_cost(d, r) for r in self.routes[d])

    def missing(self) -> int:
        """Required visits not on any route."""
        return sum(
            len(stop.patterns[0]) - len(on)
            for stop, on in zip(self.p.stops, self.on, strict=True)
            if stop.patterns
        )

    def cost(self) -> int:
        travel = sum(self.day_cost(d) for d in range(len(self.p.days)))
        # Priced per visit, so leaving out one A account is never "paid for" by serving one C.
        return travel + _UNSERVED_PENALTY * self.missing()

    def touched(self, d: int) -> None:
        self._edges[d] = None
        self._all = None

    def _all_edges(self) -> tuple[NDArray[Any], ...]:
        """Every day's arcs in one set of arrays, to price a stop on all days in one step."""
        if self._all is not None:
            return self._all
        parts = [self._day_edges(d) for d in range(len(self.p.days))]
        day_of = np.concatenate(
            [np.full(len(frm), d, dtype=np.int64) for d, (frm, *_rest) in enumerate(parts)]
        )
        frm = np.concatenate([part[0] for part in parts])
        to = np.concatenate([part[1] for part in parts])
        load = np.concatenate([part[4][part[2]] for part in parts])
        work = np.concatenate([part[5][part[2]] for part in parts])
        big = np.iinfo(np.int64).max // 4
        cap = np.array([f.capacity if f.capacity is not None else big for f in self.p.days])
        max_work = np.array([f.max_work if f.max_work is not None else big for f in self.p.days])
        windowed = np.array(
            [
                any(self.p.stops[i].window_on(d) is not None for r in self.routes[d] for i in r)
                for d in range(len(self.p.days))
            ],
            dtype=bool,
        )
        rid = np.concatenate([part[2] for part in parts])
        pos = np.concatenate([part[3] for part in parts])
        offsets = np.concatenate([[0], np.cumsum([len(part[0]) for part in parts])])
        room = np.array([f.vehicles - len(self.routes[d]) for d, f in enumerate(self.p.days)], dtype=np.int64)
        self._all = (
            day_of,
            frm,
            to,
            load,
            work,
            cap[day_of],
            max_work[day_of],
            windowed,
            rid,
            pos,
            offsets,
            room,
        )
        return self._all

    def insertion_costs(self, i: int) -> NDArray[np.float64]:
        """Cheapest feasible extra travel for stop i on every day (inf: no room that day).

        Days with time windows on them, or a stop with one, are priced exactly
        (with a schedule check) by `insertion`; the rest in one vectorised step.
        """
        n_days = len(self.p.days)
        (_day_of, frm, to, load, work, cap, max_work, windowed, rid, pos, offsets, room) = self._all_edges()
        li = int(self.loc[i])
        s_i = int(self.service[i])
        q_i = int(self.demand[i])
        delta = self.T[frm, li] + self.T[li, to] - self.T[frm, to]
        ok = (load + q_i <= cap) & (work + delta + s_i <= max_work)
        best = np.full(n_days, np.inf)
        if len(delta):
            val = np.where(ok, delta.astype(np.float64), np.inf)
            starts = offsets[:-1]
            busy = starts < offsets[1:]  # days with at least one arc; arcs are grouped by day
            best[busy] = np.minimum.reduceat(val, starts[busy])
        # A vehicle still idle that day could drive out to it alone.
        solo = self.T[self._starts, li] + self.T[li, self._ends]
        idle = (room > 0) & (q_i <= self._day_cap) & (solo + s_i <= self._day_work)
        best = np.where(idle & (solo < best), solo.astype(np.float64), best)
        if self.has_windows:
            if self.p.stops[i].windowed:
                exact = sorted({d for pattern in self.p.stops[i].patterns for d in pattern})
            else:
                # The cheapest arc usually keeps every window: check that one first.
                exact = []
                for d in (int(x) for x in np.flatnonzero(windowed)):
                    lo, hi = int(offsets[d]), int(offsets[d + 1])
                    k = lo + int(np.argmin(np.where(ok[lo:hi], delta[lo:hi], np.iinfo(np.int64).max)))
                    if best[d] == np.inf:
                        continue  # no arc with room: nothing to check
                    if hi > lo and ok[k] and delta[k] <= best[d]:
                        route = self.routes[d][int(rid[k])]
                        p = int(pos[k])
                        if self.schedule_ok(d, [*route[:p], i, *route[p:]]):
                            continue
                    exact.append(d)
            for d in exact:
                ins = self.insertion(i, d)
                best[d] = np.inf if ins is None else ins[0]
        return best

    def _day_edges(self, d: int) -> tuple[NDArray[np.int64], ...]:
        """All arcs of day d as arrays (from, to, route, position) plus route load and work."""
        cached = self._edges[d]
        if cached is not None:
            return cached
        fleet = self.p.days[d]
        frm: list[int] = []
        to: list[int] = []
        rid: list[int] = []
        pos: list[int] = []
        load = np.zeros(len(self.routes[d]), dtype=np.int64)
        work = np.zeros(len(self.routes[d]), dtype=np.int64)
        for r, route in enumerate(self.routes[d]):
            path = [fleet.start, *(int(self.loc[i]) for i in route), fleet.end]
            frm.extend(path[:-1])
            to.extend(path[1:])
            rid.extend([r] * (len(path) - 1))
            pos.extend(range(len(path) - 1))
            load[r] = int(self.demand[route].sum()) if route else 0
            travel = int(self.T[path[:-1], path[1:]].sum())
            work[r] = travel + (int(self.service[route].sum()) if route else 0)
        edges = (
            np.array(frm, dtype=np.int64),
            np.array(to, dtype=np.int64),
            np.array(rid, dtype=np.int64),
            np.array(pos, dtype=np.int64),
            load,
            work,
        )
        self._edges[d] = edges
        return edges

    # -- pricing

    def insertion(self, i: int, d: int) -> tuple[int, int, int] | None:
        """Cheapest feasible (extra travel, route, position) for stop i on day d; None if none."""
        fleet = self.p.days[d]
        frm, to, rid, pos, load, work = self._day_edges(d)
        li = int(self.loc[i])
        s_i = int(self.service[i])
        q_i = int(self.demand[i])
        delta = self.T[frm, li] + self.T[li, to] - self.T[frm, to]
        ok = np.ones(len(frm), dtype=bool)
        if fleet.capacity is not None:
            ok &= load[rid] + q_i <= fleet.capacity
        if fleet.max_work is not None:
            ok &= work[rid] + delta + s_i <= fleet.max_work
        candidates: list[tuple[int, int, int]] = []
        idx = np.flatnonzero(ok)
        if idx.size:
            order = idx[np.argsort(delta[idx], kind="stable")]
            limit = order if self.has_windows else order[:1]
            candidates.extend((int(delta[k]), int(rid[k]), int(pos[k])) for k in limit)
        if len(self.routes[d]) < fleet.vehicles:
            solo = int(self.T[fleet.start, li] + self.T[li, fleet.end])
            fits_cap = fleet.capacity is None or q_i <= fleet.capacity
            fits_work = fleet.max_work is None or solo + s_i <= fleet.max_work
            if fits_cap and fits_work:
                candidates.append((solo, len(self.routes[d]), 0))
                candidates.sort()
        if not self.has_windows:
            return candidates[0] if candidates else None
        for cand in candidates:
            _, r, p = cand
            route = self.routes[d][r] if r < len(self.routes[d]) else []
            if self.schedule_ok(d, [*route[:p], i, *route[p:]]):
                return cand
        return None

    def schedule_ok(self, d: int, route: Sequence[int]) -> bool:
        """Can the route be driven from the day's opening without missing a window?"""
        fleet = self.p.days[d]
        t = fleet.opens
        here = fleet.start
        for i in route:
            stop = self.p.stops[i]
            t += int(self.T[here, stop.location])
            window = stop.window_on(d)
            if window is not None:
                if t > window[1]:
                    return False
                t = max(t, window[0])
            t += stop.service
            here = stop.location
        t += int(self.T[here, fleet.end])
        return fleet.closes is None or t <= fleet.closes

    def removal(self, i: int, d: int) -> int:
        """Travel saved by taking stop i out of day d."""
        fleet = self.p.days[d]
        for route in self.routes[d]:
            if i in route:
                k = route.index(i)
                prev = fleet.start if k == 0 else int(self.loc[route[k - 1]])
                nxt = fleet.end if k == len(route) - 1 else int(self.loc[route[k + 1]])
                li = int(self.loc[i])
                return int(self.T[prev, li] + self.T[li, nxt] - self.T[prev, nxt])
        raise KeyError(f"stop {i} is not on day {d}")

    # -- changes

    def insert(self, i: int, d: int, r: int, p: int) -> None:
        if r == len(self.routes[d]):
            self.routes[d].append([i])
        else:
            self.routes[d][r].insert(p, i)
        self.on[i].add(d)
        self.touched(d)

    def remove(self, i: int, d: int) -> None:
        for r, route in enumerate(self.routes[d]):
            if i in route:
                route.remove(i)
                if not route:
                    del self.routes[d][r]
                self.on[i].discard(d)
                self.touched(d)
                return
        raise KeyError(f"stop {i} is not on day {d}")

    def unassign(self, i: int) -> set[int]:
        days = set(self.on[i])
        for d in days:
            self.remove(i, d)
        self.pattern[i] = None
        return days

    def best_pattern(
        self, i: int, rng: random.Random | None = None, noise: float = 0.0
    ) -> tuple[float, tuple[int, ...]] | None:
        """The pattern with the lowest change in cost for stop i, and that change.

        A day with no room makes the pattern infeasible, unless partial plans are
        allowed; then that visit is priced as missing.
        """
        stop = self.p.stops[i]
        if not stop.patterns:
            return None
        present = self.on[i]
        n_days = len(self.p.days)
        gain = np.zeros(n_days)
        for d in present:
            gain[d] = self.removal(i, d)
        costs = self.insertion_costs(i)
        costs[list(present)] = 0.0  # days it keeps cost nothing
        days, member = self._pattern_arrays(i)
        priced = costs[days]  # patterns × visits
        absent = np.isinf(priced)
        missing = absent.sum(axis=1)
        total = np.where(absent, 0.0, priced).sum(axis=1) - (gain.sum() - member @ gain)
        if rng is not None and noise > 0.0:
            total *= 1.0 + noise * np.array([rng.random() for _ in range(len(total))])
        total += _UNSERVED_PENALTY * (missing - (days.shape[1] - len(present)))
        if not self.partial_ok:
            total[missing > 0] = np.inf
        k = int(np.argmin(total))
        if total[k] == np.inf:
            return None
        return float(total[k]), stop.patterns[k]

    def roomiest_pattern(self, i: int) -> tuple[float, tuple[int, ...]] | None:
        """For an unplaced stop: the fitting pattern whose fullest day has the most room left."""
        stop = self.p.stops[i]
        if not stop.patterns or self.on[i]:
            return None
        costs = self.insertion_costs(i)
        days, _ = self._pattern_arrays(i)
        fits = ~np.isinf(costs[days]).any(axis=1)
        if not fits.any():
            return None
        free = np.array([self._free(d) for d in range(len(self.p.days))], dtype=np.float64)
        score = np.where(fits, free[days].min(axis=1), -np.inf)
        k = int(np.argmax(score))
        return float(costs[days[k]].sum()), stop.patterns[k]

    def _free(self, d: int) -> int:
        """Work minutes (or units) left on day d's least loaded route, or a whole idle vehicle."""
        fleet = self.p.days[d]
        cap = fleet.max_work if fleet.max_work is not None else 2**40
        if len(self.routes[d]) < fleet.vehicles:
            return cap
        work = self._day_edges(d)[5]
        return int(cap - work.min()) if len(work) else cap

    def _pattern_arrays(self, i: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Stop i's patterns as a (patterns × visits) day matrix and a (patterns × days) 0/1 mask."""
        cached = self._patterns.get(i)
        if cached is None:
            patterns = self.p.stops[i].patterns
            days = np.array(patterns, dtype=np.int64).reshape(len(patterns), -1)
            member = np.zeros((len(patterns), len(self.p.days)))
            for k, pattern in enumerate(patterns):
                member[k, list(pattern)] = 1.0
            cached = (days, member)
            self._patterns[i] = cached
        return cached

    def apply(self, i: int, pattern: tuple[int, ...]) -> set[int]:
        """Move stop i to `pattern` (visits that find no room stay missing); days changed."""
        changed: set[int] = set()
        for d in self.on[i] - set(pattern):
            self.remove(i, d)
            changed.add(d)
        for d in pattern:
            if d in self.on[i]:
                continue
            ins = self.insertion(i, d)
            if ins is None:
                if not self.partial_ok:
                    raise RuntimeError(f"stop {i} no longer fits day {d}")
                continue
            self.insert(i, d, ins[1], ins[2])
            changed.add(d)
        self.pattern[i] = pattern
        return changed


# --------------------------------------------------------------------------- search


def solve_periodic(
    problem: PeriodicProblem,
    *,
    seed: int = 0,
    time_limit: float = 10.0,
    params: EngineParams | None = None,
    partial_ok: bool = False,
) -> PeriodicSolution:
    """Choose a pattern for every stop and route every day, minimising total travel.

    With `partial_ok`, visits that find no room are left out (and reported via
    `missing`) rather than making the stop's whole pattern infeasible; stops
    that fit on no pattern at all are returned in `unserved`, never dropped silently.
    """
    params = params or EngineParams()
    began = time.monotonic()
    # A little is kept back for building the result within the caller's limit.
    deadline = began + 0.95 * time_limit
    time_limit *= 0.95
    rng = random.Random(seed)
    # Without the joint model every stop is priced by the pattern layer, day by day.
    flexible = _flexible_days(problem) if params.joint_days else [None] * len(problem.stops)

    neighbours = _neighbour_lists(problem)
    # PyVRP moves flexible stops between days itself: the more of them, the more often
    # all days are routed at once rather than re-routed day by day.
    visits = sum(len(s.patterns[0]) for s in problem.stops if s.patterns) or 1
    flexible_share = sum(1 for f in flexible if f is not None) / visits
    joint_every = max(1, min(params.joint_every, round(1.0 / max(flexible_share, 1e-9))))
    if not params.joint_days:
        joint_every = 0
    # ... and the longer the final uninterrupted PyVRP run, which beats many short ones.
    polish_share = min(0.9, params.polish_share + 0.6 * flexible_share)
    polish_from = began + time_limit * (1.0 - polish_share)
    plan = _construct(problem, partial_ok)
    if joint_every:
        plan, routed = _joint(plan, flexible, seed, params.chunk_iterations, polish_from)
    else:
        _reoptimise(plan, set(range(len(problem.days))), seed)
        routed = _fixed_days(plan)
    best, best_routed, best_cost = plan.copy(), routed, plan.cost()
    current_cost = best_cost
    rounds = 0
    while time.monotonic() < polish_from and (params.max_rounds is None or rounds < params.max_rounds):
        rounds += 1
        trial = plan.copy()
        # A full pass of pattern moves costs ~a hundred ruins: run it every few rounds.
        full_pass = (rounds - 1) % params.descend_every == 0
        if not full_pass or not _descend(trial, rng, seed + rounds, polish_from):
            changed = _ruin_recreate(trial, rng, neighbours, params.ruin_size)
            _reoptimise(trial, changed, seed + rounds)
        if joint_every and rounds % joint_every == 0:
            trial, routed = _joint(trial, flexible, seed + rounds, params.chunk_iterations, polish_from)
        else:
            routed = ()
        cost = trial.cost()
        if cost < best_cost:
            best, best_routed, best_cost = trial.copy(), routed or _fixed_days(trial), cost
        if cost <= current_cost * (1.0 + params.accept_worse):
            plan, current_cost = trial, cost
        else:
            plan, current_cost = best.copy(), best_cost
    remaining = max(0.0, deadline - time.monotonic())
    if remaining > 0.0 and params.final_iterations > 0 and not joint_every:
        best = _polish_days(best, seed, deadline, params.final_iterations)
        best_routed = _fixed_days(best)
    elif remaining > 0.0 and params.final_iterations > 0:
        polished, routed = _joint(best, flexible, seed, params.final_iterations, time.monotonic() + remaining)
        if polished.cost() <= best_cost:
            best, best_routed = polished, routed
    days = tuple(
        DayRoutes(
            routes=tuple(tuple(s for s in route) for route in day.routes),
            dropped=(),
            travel=day.travel,
            feasible=day.feasible,
        )
        for day in best_routed
    )
    return PeriodicSolution(
        patterns=tuple(best.pattern),
        days=days,
        cost=sum(d.travel for d in days),
        unserved=tuple(i for i, on in enumerate(best.on) if not on),
        missing=tuple(
            (i, d) for i, p in enumerate(best.pattern) if p is not None for d in p if d not in best.on[i]
        ),
        rounds=rounds,
        seconds=time.monotonic() - began,
    )


def _flexible_days(problem: PeriodicProblem) -> list[tuple[int, int] | None]:
    """(first, last) for one-visit stops whose allowed days form a run; PyVRP picks the day."""
    out: list[tuple[int, int] | None] = []
    for stop in problem.stops:
        days = sorted(p[0] for p in stop.patterns if len(p) == 1)
        single = stop.patterns and len(days) == len(stop.patterns) and not stop.windowed
        if single and len(days) > 1 and days == list(range(days[0], days[0] + len(days))):
            out.append((days[0], days[-1]))
        else:
            out.append(None)
    return out


def _construct(problem: PeriodicProblem, partial_ok: bool) -> _Plan:
    """Cheapest insertion, most constrained and farthest stops first."""
    plan = _Plan(problem)
    plan.partial_ok = partial_ok
    order = list(range(len(problem.stops)))
    depot = problem.days[0].start if problem.days else 0
    far = problem.travel[depot, plan.loc] if order else np.zeros(0)

    def urgency(i: int) -> tuple[int, int, int]:
        stop = problem.stops[i]
        visits = len(stop.patterns[0]) if stop.patterns else 0
        return (len(stop.patterns), -visits, -int(far[i]))

    order.sort(key=urgency)
    for i in order:
        if not problem.stops[i].patterns:
            continue
        choice = plan.best_pattern(i)
        if choice is not None:
            plan.apply(i, choice[1])
    return plan


def _descend(plan: _Plan, rng: random.Random, seed: int, stop_at: float) -> bool:
    """Apply improving pattern moves, re-routing changed days, until none is left."""
    n = len(plan.p.stops)
    improved = False
    for _ in range(20):
        changed: set[int] = set()
        order = list(range(n))
        rng.shuffle(order)
        for i in order:
            if time.monotonic() > stop_at:
                break
            stop = plan.p.stops[i]
            if len(stop.patterns) < 1:
                continue
            choice = plan.best_pattern(i)
            if choice is None:
                continue
            gain, pattern = choice
            if gain < 0 and (pattern != plan.pattern[i] or len(plan.on[i]) < len(pattern)):
                changed |= plan.apply(i, pattern)
        if not changed:
            break
        improved = True
        _reoptimise(plan, changed, seed)
    return improved


def _reoptimise(plan: _Plan, days: set[int], seed: int) -> None:
    """Local search on each changed day (PyVRP), keeping the better of before and after."""
    for d in sorted(days):
        routes = plan.routes[d]
        if not routes:
            continue
        members = _day_members(plan, d)
        stops = [_route_stop(plan.p.stops[i], d) for i in members]
        local = {stop: k for k, stop in enumerate(members)}
        result = improve_day(
            plan.T, stops, plan.p.days[d], [[local[i] for i in r] for r in routes], seed=seed
        )
        if not result.feasible or result.dropped:
            continue
        new_routes = [[members[s] for s in seq] for seq in result.sequences()]
        if plan.has_windows and not all(plan.schedule_ok(d, r) for r in new_routes):
            continue
        if sum(plan.route_cost(d, r) for r in new_routes) <= plan.day_cost(d):
            plan.routes[d] = new_routes
            plan.touched(d)


def _joint(
    plan: _Plan,
    flexible: Sequence[tuple[int, int] | None],
    seed: int,
    iterations: int,
    stop_at: float,
) -> tuple[_Plan, tuple[DayRoutes, ...]]:
    """Route all days in one PyVRP model from the plan's routes; flexible stops may change day.

    Returns the re-routed plan (or the input, when PyVRP found nothing better) and
    the days with service times, stop indices being indices into `problem.stops`.
    """
    problem = plan.p
    visits: list[tuple[int, int | None]] = []  # (stop, fixed day or None when flexible)
    route_stops: list[RouteStop] = []
    index: dict[tuple[int, int], int] = {}
    for i, stop in enumerate(problem.stops):
        span = flexible[i]
        if span is not None:
            for d in plan.on[i]:
                index[(i, d)] = len(visits)
            visits.append((i, None))
            route_stops.append(_route_stop(stop, None, span, required=not plan.partial_ok))
            continue
        wanted = plan.pattern[i] or ()
        for d in wanted:
            if d not in plan.on[i] and not plan.partial_ok:
                continue
            index[(i, d)] = len(visits)
            visits.append((i, d))
            route_stops.append(_route_stop(stop, d, (d, d), required=not plan.partial_ok))
    if plan.partial_ok:
        # Optional visits are worth far more than any detour, so they are left out only
        # when no day has room for them.
        worth = int(4 * (int(problem.travel.max(initial=0)) + int(plan.service.max(initial=0))))
        route_stops = [replace(r, prize=worth + 1) for r in route_stops]
    warm = [[[index[(i, d)] for i in route] for route in plan.routes[d]] for d in range(len(problem.days))]
    routed = route_days(
        problem.travel,
        route_stops,
        problem.days,
        seed=seed,
        max_iterations=iterations,
        time_limit=max(0.0, stop_at - time.monotonic()),
        warm_start=warm,
    )
    new = plan.copy()
    new.routes = [[] for _ in problem.days]
    new.on = [set() for _ in problem.stops]
    for d, day in enumerate(routed.days):
        for route in day.routes:
            new.routes[d].append([visits[s.stop][0] for s in route])
            for s in route:
                i = visits[s.stop][0]
                new.on[i].add(d)
                if flexible[i] is not None:
                    new.pattern[i] = (d,)
    new._edges = [None] * len(problem.days)
    new._all = None
    feasible = routed.feasible and all(
        len(new.on[i]) == len(plan.on[i]) or plan.partial_ok for i in range(len(problem.stops))
    )
    if plan.has_windows and feasible:
        feasible = all(new.schedule_ok(d, r) for d in range(len(problem.days)) for r in new.routes[d])
    if not feasible or new.cost() > plan.cost():
        return plan, _fixed_days(plan)
    days = tuple(
        DayRoutes(
            routes=tuple(tuple(replace(s, stop=visits[s.stop][0]) for s in route) for route in day.routes),
            dropped=(),
            travel=day.travel,
            feasible=True,
        )
        for day in routed.days
    )
    return new, days


def _polish_days(plan: _Plan, seed: int, deadline: float, iterations: int) -> _Plan:
    """PyVRP's iterated local search on each day alone, warm-started; keeps what improves."""
    plan = plan.copy()
    n_days = len(plan.p.days)
    for d in range(n_days):
        members = _day_members(plan, d)
        if len(members) < 3:
            continue
        stops = [_route_stop(plan.p.stops[i], d) for i in members]
        local = {stop: k for k, stop in enumerate(members)}
        budget = max(0.0, (deadline - time.monotonic()) / (n_days - d))
        day = route_day(
            plan.T,
            stops,
            plan.p.days[d],
            seed=seed,
            max_iterations=iterations,
            time_limit=budget,
            warm_start=[[local[i] for i in r] for r in plan.routes[d]],
        )
        if not day.feasible or day.dropped:
            continue
        new_routes = [[members[k] for k in seq] for seq in day.sequences()]
        if plan.has_windows and not all(plan.schedule_ok(d, r) for r in new_routes):
            continue
        if sum(plan.route_cost(d, r) for r in new_routes) < plan.day_cost(d):
            plan.routes[d] = new_routes
            plan.touched(d)
    return plan


def _fixed_days(plan: _Plan) -> tuple[DayRoutes, ...]:
    """The plan's own routes with service times, for when PyVRP did not improve them."""
    out = []
    for d, fleet in enumerate(plan.p.days):
        routes = []
        for route in plan.routes[d]:
            clock = fleet.opens
            here = fleet.start
            scheduled = []
            for i in route:
                stop = plan.p.stops[i]
                clock += int(plan.T[here, stop.location])
                window = stop.window_on(d)
                if window is not None:
                    clock = max(clock, window[0])
                scheduled.append(ScheduledStop(i, clock, clock + stop.service))
                clock += stop.service
                here = stop.location
            routes.append(tuple(scheduled))
        out.append(DayRoutes(routes=tuple(routes), dropped=(), travel=plan.day_cost(d), feasible=True))
    return tuple(out)


def _route_stop(
    stop: PeriodicStop, day: int | None, days: tuple[int, int] | None = None, required: bool = True
) -> RouteStop:
    """The stop as the day router sees it on `day` (None: a stop that may go on a run of days)."""
    return RouteStop(
        location=stop.location,
        service=stop.service,
        demand=stop.demand,
        window=stop.window if day is None else stop.window_on(day),
        days=days,
        required=required,
    )


def _day_members(plan: _Plan, d: int) -> list[int]:
    return sorted(i for route in plan.routes[d] for i in route)


def _neighbour_lists(problem: PeriodicProblem) -> list[list[int]]:
    locs = np.array([s.location for s in problem.stops], dtype=np.int64)
    if len(locs) == 0:
        return []
    dist = problem.travel[np.ix_(locs, locs)]
    return [[int(j) for j in np.argsort(dist[i], kind="stable")] for i in range(len(locs))]


def _make_room(plan: _Plan, target: int, rng: random.Random) -> list[int]:
    """Stops to take off the days of one of `target`'s patterns so that it fits there.

    Half the time the pattern that lacks the least room is chosen (else one at
    random); on each short day, stops with the most alternative days leave first
    (they are the easiest to put elsewhere) until the target's visit would fit.
    """
    stop = plan.p.stops[target]
    need = int(plan.service[target]) + 2 * int(
        np.median(plan.T[plan.loc[target], plan.loc]) if len(plan.loc) else 0
    )

    free = plan._free

    def lack(pattern: tuple[int, ...]) -> int:
        return sum(max(0, need - free(d)) for d in pattern if d not in plan.on[target])

    if rng.random() < 0.5:
        pattern = min(stop.patterns, key=lambda p: (lack(p), rng.random()))
    else:
        pattern = rng.choice(stop.patterns)
    removed: list[int] = []
    for d in pattern:
        if d in plan.on[target]:
            continue
        candidates = [i for r in plan.routes[d] for i in r if len(plan.p.stops[i].patterns) > 1]
        rng.shuffle(candidates)
        # One-visit stops first (they move without dragging other days along), then the
        # stops with the most alternatives.
        candidates.sort(key=lambda i: (len(plan.p.stops[i].patterns[0]), -len(plan.p.stops[i].patterns)))
        room = free(d)
        for i in candidates:
            if room >= need:
                break
            removed.append(i)
            room += int(plan.service[i])
    return list(dict.fromkeys(i for i in removed if i != target))


def _ruin_recreate(plan: _Plan, rng: random.Random, neighbours: list[list[int]], size: int) -> set[int]:
    """Unassign a cluster of stops around a random one, then reinsert them with noise.

    When visits are missing, half the time the cluster is instead made room for
    one of them: a few stops leave the days of one of its patterns, it goes in
    first and they follow.
    """
    movable = [i for i, s in enumerate(plan.p.stops) if len(s.patterns) > 1]
    if not movable:
        return set()
    short = [i for i, s in enumerate(plan.p.stops) if s.patterns and len(plan.on[i]) < len(s.patterns[0])]
    changed: set[int] = set()
    first: list[int] = []
    if short and rng.random() < 0.5:
        target = rng.choice(short)
        removed = _make_room(plan, target, rng)
        first = [target]
    else:
        centre = rng.choice(movable)
        removed = [i for i in neighbours[centre][: size + 1] if len(plan.p.stops[i].patterns) > 1]
    for i in removed:
        changed |= plan.unassign(i)
    rng.shuffle(removed)
    for i in first:
        choice = plan.best_pattern(i)
        if choice is not None:
            changed |= plan.apply(i, choice[1])
    for i in removed:
        # Stops moved aside to make room go where room is most plentiful (an idle day
        # soaks them up); the others go where they cost least.
        choice = plan.roomiest_pattern(i) if first else None
        choice = choice or plan.best_pattern(i, rng, noise=0.3)
        if choice is not None:
            changed |= plan.apply(i, choice[1])
    # Stops left out earlier get another chance now that routes have moved.
    for i, stop in enumerate(plan.p.stops):
        if stop.patterns and len(plan.on[i]) < len(stop.patterns[0]):
            choice = plan.best_pattern(i)
            if choice is not None and choice[0] < 0:
                changed |= plan.apply(i, choice[1])
    return changed
