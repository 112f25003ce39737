"""Reasons a rep manager can check: why an account moves, why a rep stays out of band, where to hire.

Every figure a reason quotes comes from the plan's own before/after balance
reports and from what each rep's day's drive allows (`planner.reach`), so a
reason never contradicts the numbers beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from planner.model import Account, BalanceReport, OutOfBand, Policy, Rep, RepLoad
from planner.reach import RepReach, ShortArea, short_areas
from planner.territory_layer import LayerResult


@dataclass(frozen=True)
class NamedArea:
    """A short area of one layer, by rep id and name, for reasons and the hiring count."""

    short: ShortArea
    rep_ids: tuple[str, ...]
    names: str  # the binding reps: "Rep 0, Rep 1 and Rep 2" or "Rep 0 and 11 others"
    overlay: bool


def named_short_areas(
    after: BalanceReport, layers: Sequence[LayerResult], rep_by_id: Mapping[str, Rep]
) -> list[NamedArea]:
    """The areas of over-capacity reps (and their neighbours) that lack reps."""
    over = set(after.over_capacity)
    areas: list[NamedArea] = []
    for layer in layers:
        flags = np.array([r in over for r in layer.rep_ids])
        for short in short_areas(layer.reach_map, flags, layer.fixed_workload, layer.capacity):
            ids = tuple(layer.rep_ids[k] for k in short.reps)
            labels = [_label(rep_by_id.get(layer.rep_ids[k]), layer.rep_ids[k]) for k in short.binding]
            names = (
                f"{', '.join(labels[:-1])} and {labels[-1]}" if 1 < len(labels) <= 5
                else labels[0] if len(labels) == 1
                else f"{labels[0]} and {len(labels) - 1} others"
            )
            areas.append(NamedArea(short, ids, names, rep_by_id[ids[0]].overlay))
    return areas


def out_of_band(
    after: BalanceReport, reach: Mapping[str, RepReach], rep_by_id: Mapping[str, Rep], policy: Policy,
    in_short_layer: set[str], areas: Mapping[str, NamedArea],
) -> tuple[OutOfBand, ...]:
    """Every rep outside the policy's band or over capacity, with what limits them."""
    bp, bw = policy.balance.potential_band, policy.balance.workload_band
    return tuple(
        OutOfBand(
            load.rep_id, load.potential_vs_target, load.workload_vs_target, load.utilisation,
            _out_of_band_reason(load, reach.get(load.rep_id),
                                _label(rep_by_id.get(load.rep_id), load.rep_id), policy,
                                load.rep_id in in_short_layer,
                                areas.get(load.rep_id)),
        )
        for load in after.reps
        if abs(load.potential_vs_target - 1.0) > bp + 1e-9
        or abs(load.workload_vs_target - 1.0) > bw + 1e-9
        or load.utilisation > 1.0 + 1e-9
    )


def _out_of_band_reason(
    load: RepLoad, reach: RepReach | None, name: str, policy: Policy, team_short: bool,
    area: NamedArea | None,
) -> str:
    """Why a rep stays outside the band or over capacity, in figures a manager can act on."""
    bp, bw = policy.balance.potential_band, policy.balance.workload_band
    potential, workload = load.potential_vs_target, load.workload_vs_target
    figures = (
        f"potential {_pct(potential)} and workload {_pct(workload)} of a fair share "
        f"(band ±{bp * 100:.0f} % / ±{bw * 100:.0f} %)"
    )
    if reach is None:
        return f"{figures}: no accounts in {name}'s layer to plan"
    where = (
        f"{reach.accounts} accounts within a day's drive of {name}'s home "
        f"({reach.sole} of them within no one else's)"
    )
    group = f"{name} and the {reach.neighbours} rep(s) whose day's drive overlaps theirs"
    if load.utilisation > 1.0 + 1e-9:
        over = f"at {_pct(load.utilisation)} of capacity"
        if reach.sole_capacity_ratio > 1.0:
            return (
                f"{over}: the {reach.sole} accounts only {name} can reach (or holds locked) take "
                f"{_pct(reach.sole_capacity_ratio)} of {name}'s capacity on their own; the area needs "
                f"{math.ceil(reach.sole_capacity_ratio - 1.0 - 1e-9)} more rep(s)"
            )
        if area is not None:
            return (
                f"{over}: the {area.short.accounts} accounts that only {area.names} can reach take at "
                f"least {area.short.capacity_ratio * 100:.1f} % of their capacity; the area needs "
                f"{area.short.reps_short} more rep(s)"
            )
        if team_short:
            return f"{over}: the team's book needs more time than its reps have"
        return (
            f"{over}: the reps within a day's drive of its accounts could take them, but not "
            "within this plan's time and travel"
        )
    if reach.sole_workload_ratio > 1.0 + bw or reach.sole_potential_ratio > 1.0 + bp:
        return (
            f"{figures}: the {reach.sole} accounts only {name} can reach (or holds locked) already take "
            f"{_pct(reach.sole_workload_ratio)} of a fair workload and "
            f"{_pct(reach.sole_potential_ratio)} of a fair potential"
        )
    if reach.potential_ratio < 1.0 - bp:
        return f"{figures}: the {where} hold only {_pct(reach.potential_ratio)} of a fair share of potential"
    if reach.cheapest_workload_ratio > 1.0 + bw:
        return (
            f"{figures}: of the {where}, the least workload that carries {_pct(1.0 - bp)} of a fair "
            f"potential is {_pct(reach.cheapest_workload_ratio)} of a fair workload; the drive makes "
            "this book dearer to serve than the team's"
        )
    if reach.enclosed_potential_ratio > 1.0 + bp or reach.enclosed_workload_ratio > 1.0 + bw:
        return (
            f"{figures}: the {reach.enclosed} accounts that only {group} can reach carry "
            f"{_pct(reach.enclosed_potential_ratio)} of their fair potential and at least "
            f"{_pct(reach.enclosed_workload_ratio)} of their fair workload"
        )
    if reach.group_potential_ratio < 1.0 - bp:
        return (
            f"{figures}: all the accounts {group} can reach hold only "
            f"{_pct(reach.group_potential_ratio)} of their fair potential"
        )
    return (
        f"{figures}: the {where} could balance {name}, but not alongside the "
        f"{reach.neighbours} rep(s) who share them, within this plan's travel"
    )


def _label(rep: Rep | None, rep_id: str) -> str:
    return rep.name if rep is not None and rep.name else rep_id


def _pct(x: float) -> str:
    return f"{x * 100:.0f} %"


def move_reason(
    account: Account,
    to_rep: str,
    rep_by_id: Mapping[str, Rep],
    before: BalanceReport,
    after: BalanceReport,
    km: Mapping[tuple[str, str], float],
    policy: Policy,
) -> str:
    """Why `account` goes to `to_rep`, in words a rep manager can check."""
    to = _label(rep_by_id.get(to_rep), to_rep)
    to_km = km.get((account.id, to_rep))
    where = f"{to_km:.0f} km from {to}'s home" if to_km is not None else f"served by {to}"
    src_id = account.current_rep
    if src_id is None:
        return f"had no rep; {where}"
    src_rep = rep_by_id.get(src_id)
    src = _label(src_rep, src_id)
    if src_rep is None:
        return f"{src} is no longer on the team; {where}"
    if not account.skills <= src_rep.skills:
        missing = ", ".join(sorted(account.skills - src_rep.skills))
        return f"needs {missing}, which {src} lacks; {where}"
    if src_rep.overlay != rep_by_id[to_rep].overlay:
        return f"moves layer: {src} and {to} are in different layers; {where}"
    bf, af, bt, at = before.rep(src_id), after.rep(src_id), before.rep(to_rep), after.rep(to_rep)
    band_w, band_p = policy.balance.workload_band, policy.balance.potential_band
    # A driver is named only if the plan moved that rep the way this account's move does: off an
    # over-full rep (which ends lighter), onto an under-full one (which ends fuller). Otherwise the
    # before → after figures would contradict the reason.
    drivers: list[tuple[float, str]] = []
    if bf.utilisation > 1.0 and af.utilisation < bf.utilisation:
        drivers.append(
            (10.0 + bf.utilisation,
             f"balances workload: {src} at {_pct(bf.utilisation)} of capacity → {_pct(af.utilisation)}")
        )
    for who, b, a, sign in ((src, bf, af, 1.0), (to, bt, at, -1.0)):
        for dimension, before_ratio, after_ratio, band in (
            ("workload", b.workload_vs_target, a.workload_vs_target, band_w),
            ("potential", b.potential_vs_target, a.potential_vs_target, band_p),
        ):
            excess = sign * (before_ratio - 1.0)  # > 0: the move relieves this side of the band
            if excess > band and sign * (before_ratio - after_ratio) > 0:
                drivers.append(
                    (excess,
                     f"balances {dimension}: {who} at {_pct(before_ratio)} of a fair share "
                     f"→ {_pct(after_ratio)}")
                )
    from_km = km.get((account.id, src_id))
    if drivers:
        _, text = max(drivers, key=lambda d: d[0])
        if from_km is not None and to_km is not None:
            return f"{text}; {to_km:.0f} km from {to}'s home (was {from_km:.0f} km from {src}'s)"
        return text
    if from_km is not None and to_km is not None and to_km < from_km:
        return f"shortens travel: {to_km:.0f} km from {to}'s home instead of {from_km:.0f} km from {src}'s"
    return (
        f"part of the rebalance: {src} ends at {_pct(af.workload_vs_target)} and {to} at "
        f"{_pct(at.workload_vs_target)} of a fair share of workload"
    )
