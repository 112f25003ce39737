"""Local search that turns a rounded (or greedy) assignment into a balanced one.

Moves one account at a time to another candidate rep, scoring each move by
the change in penalised band/capacity violation plus the change in travel and
disruption cost; each round scores every candidate move in one vectorised
pass, then applies the best few thousand one by one, re-scoring each against
the loads as earlier moves left them. Pure numpy, deterministic, bounded by rounds and a deadline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

NO_REP = -1


@dataclass(frozen=True)
class RepairProblem:
    """Candidate table (accounts × slots) and the per-rep targets the search balances to."""

    cand_rep: NDArray[np.int64]  # (n, K) rep index, NO_REP for padding
    cand_cost: NDArray[np.float64]  # (n, K) travel + disruption cost
    cand_work: NDArray[np.float64]  # (n, K) workload minutes
    cand_is_move: NDArray[np.bool_]  # (n, K) counts against the move budget
    potential: NDArray[np.float64]  # (n,)
    fixed_potential: NDArray[np.float64]  # (m,)
    fixed_workload: NDArray[np.float64]  # (m,)
    potential_target: NDArray[np.float64]  # (m,)
    share: NDArray[np.float64]  # (m,) fair share of workload, sums to 1
    capacity: NDArray[np.float64]  # (m,)
    potential_band: float
    workload_band: float
    band_penalty: float
    capacity_penalty: float
    move_budget: float | None
    # a violation v (relative to the fair share or capacity) costs v + convexity × v²: the LP's
    # linear price near the band, steeper far out, so an excess the map forces is shared out
    convexity: float
    # (m,) × each rep's penalty: its share over the mean share, so a minute over a ramping rep's
    # half share or half capacity costs what a minute over a full rep's does
    rep_weight: NDArray[np.float64]


def rep_penalty(
    problem: RepairProblem,
    reps: NDArray[np.int64],
    potential: NDArray[np.float64],
    workload: NDArray[np.float64],
    total_workload: float,
) -> NDArray[np.float64]:
    """Penalty of reps `reps` if they held `potential` and `workload` (any matching shape)."""
    target = problem.potential_target[reps]
    rp = np.where(target > 0, potential / np.where(target > 0, target, 1.0), 1.0)
    fair_work = problem.share[reps] * total_workload
    rl = np.where(fair_work > 0, workload / np.where(fair_work > 0, fair_work, 1.0), 1.0)
    bp, bw = problem.potential_band, problem.workload_band
    c = problem.convexity
    band = (_convex(np.maximum(np.abs(rp - 1.0) - bp, 0.0), c)
            + _convex(np.maximum(np.abs(rl - 1.0) - bw, 0.0), c))
    over = _convex(np.maximum(workload / problem.capacity[reps] - 1.0, 0.0), c)
    penalty = problem.band_penalty * band + problem.capacity_penalty * over
    return np.asarray(penalty * problem.rep_weight[reps])


def _convex(violation: NDArray[np.float64], convexity: float) -> NDArray[np.float64]:
    return np.asarray(violation + convexity * violation * violation)


def _one(problem: RepairProblem, r: int, potential: float, workload: float, total: float) -> float:
    """`rep_penalty` for one rep in plain floats: the accept loop calls it thousands of times."""
    target = float(problem.potential_target[r])
    rp = potential / target if target > 0 else 1.0
    fair = float(problem.share[r]) * total
    rl = workload / fair if fair > 0 else 1.0
    bp, bw = problem.potential_band, problem.workload_band
    vp = max(abs(rp - 1.0) - bp, 0.0)
    vw = max(abs(rl - 1.0) - bw, 0.0)
    vc = max(workload / float(problem.capacity[r]) - 1.0, 0.0)
    c = problem.convexity
    band = vp + c * vp * vp + vw + c * vw * vw
    penalty = problem.band_penalty * band + problem.capacity_penalty * (vc + c * vc * vc)
    return penalty * float(problem.rep_weight[r])


def repair(
    problem: RepairProblem,
    start: NDArray[np.int64],
    *,
    max_rounds: int,
    moves_per_round: int,
    deadline: float | None = None,
) -> NDArray[np.int64]:
    """Improve the slot choice `start` (n,) until no single move helps; returns the new slots."""
    slot = start.copy()
    n, m = len(slot), len(problem.capacity)
    if n == 0:
        return slot
    rows = np.arange(n)
    cand_rep_safe = np.where(problem.cand_rep == NO_REP, 0, problem.cand_rep)
    padding = problem.cand_rep == NO_REP
    p = problem.potential
    scale = max(float(np.abs(problem.cand_cost[~padding]).mean()), 1e-9)
    tol = 1e-9 * scale
    for _ in range(max_rounds):
        if deadline is not None and time.perf_counter() > deadline:
            break
        rep = problem.cand_rep[rows, slot]
        work = problem.cand_work[rows, slot]
        cost = problem.cand_cost[rows, slot]
        moving = problem.cand_is_move[rows, slot]
        pot_load = problem.fixed_potential + np.bincount(rep, weights=p, minlength=m)
        work_load = problem.fixed_workload + np.bincount(rep, weights=work, minlength=m)
        total = float(work_load.sum())
        all_reps = np.arange(m)
        now = rep_penalty(problem, all_reps, pot_load, work_load, total)
        leave = rep_penalty(problem, rep, pot_load[rep] - p, work_load[rep] - work, total) - now[rep]
        join = (
            rep_penalty(
                problem,
                cand_rep_safe,
                pot_load[cand_rep_safe] + p[:, None],
                work_load[cand_rep_safe] + problem.cand_work,
                total,
            )
            - now[cand_rep_safe]
        )
        delta = leave[:, None] + join + problem.cand_cost - cost[:, None]
        delta[padding | (problem.cand_rep == rep[:, None])] = np.inf
        used = int(moving.sum())
        budget = problem.move_budget
        if budget is not None and used >= budget:
            delta[problem.cand_is_move & ~moving[:, None]] = np.inf
        best = np.argmin(delta, axis=1)
        gain = delta[rows, best]
        improving = np.flatnonzero(gain < -tol)
        if improving.size == 0:
            break
        order = improving[np.argsort(gain[improving], kind="stable")][:moves_per_round]
        made = 0
        for i in order:
            # re-score with the loads as they are now: earlier moves this round changed them
            src, k = int(rep[i]), int(best[i])
            dst = int(problem.cand_rep[i, k])
            w_new = float(problem.cand_work[i, k])
            exact = (
                _one(problem, src, pot_load[src] - p[i], work_load[src] - work[i], total)
                - _one(problem, src, pot_load[src], work_load[src], total)
                + _one(problem, dst, pot_load[dst] + p[i], work_load[dst] + w_new, total)
                - _one(problem, dst, pot_load[dst], work_load[dst], total)
                + float(problem.cand_cost[i, k] - cost[i])
            )
            if exact >= -tol:
                continue
            becomes_move = bool(problem.cand_is_move[i, k]) and not moving[i]
            if becomes_move and budget is not None and used + 1 > budget:
                continue
            used += int(becomes_move) - int(moving[i] and not problem.cand_is_move[i, k])
            pot_load[src] -= p[i]
            work_load[src] -= work[i]
            pot_load[dst] += p[i]
            work_load[dst] += w_new
            slot[i] = k
            rep[i], work[i], cost[i] = dst, w_new, problem.cand_cost[i, k]
            moving[i] = problem.cand_is_move[i, k]
            made += 1
        if made == 0:
            break
    return slot


@dataclass
class _Assignment:
    """The search's current slot per account and the per-rep loads it implies (updated in place)."""

    slot: NDArray[np.int64]  # (n,)
    rep: NDArray[np.int64]  # (n,)
    work: NDArray[np.float64]  # (n,)
    cost: NDArray[np.float64]  # (n,)
    moving: NDArray[np.bool_]  # (n,)
    pot: NDArray[np.float64]  # (m,)
    load: NDArray[np.float64]  # (m,)

    @classmethod
    def of(cls, problem: RepairProblem, slot: NDArray[np.int64]) -> _Assignment:
        rows = np.arange(len(slot))
        m = len(problem.capacity)
        rep = problem.cand_rep[rows, slot]
        work = problem.cand_work[rows, slot]
        return cls(
            slot=slot.copy(), rep=rep, work=work, cost=problem.cand_cost[rows, slot],
            moving=problem.cand_is_move[rows, slot],
            pot=problem.fixed_potential + np.bincount(rep, weights=problem.potential, minlength=m),
            load=problem.fixed_workload + np.bincount(rep, weights=work, minlength=m),
        )

    def assign(self, problem: RepairProblem, acc: int, k: int) -> None:
        """Give account `acc` to its candidate slot `k`."""
        p = problem.potential
        old = self.rep[acc]
        self.pot[old] -= p[acc]
        self.load[old] -= self.work[acc]
        self.slot[acc] = k
        self.rep[acc] = problem.cand_rep[acc, k]
        self.work[acc] = problem.cand_work[acc, k]
        self.cost[acc] = problem.cand_cost[acc, k]
        self.moving[acc] = problem.cand_is_move[acc, k]
        self.pot[self.rep[acc]] += p[acc]
        self.load[self.rep[acc]] += self.work[acc]


@dataclass(frozen=True)
class _Exchange:
    """Rep r gives account `out` to rep `taker` and takes account `into` from rep `giver`."""

    gain: float  # change in the penalised cost (< 0 improves)
    out: int
    out_slot: int
    into: int
    into_slot: int
    giver: int
    taker: int


def exchange_pass(
    problem: RepairProblem,
    slot: NDArray[np.int64],
    *,
    shortlist: int,
    deadline: float | None = None,
) -> tuple[NDArray[np.int64], int]:
    """For each off-band rep r, take one account in and give one away at the same time.

    Single moves shift potential and workload together; a rep over on one
    and under on the other needs an exchange: take a high-potential,
    low-workload account from a neighbour s and give a low-potential,
    high-workload one to a neighbour t (s may equal t: a swap). Candidates are
    shortlisted per side, then every pair is scored exactly. Returns the new
    slots and the number of exchanges made.
    """
    n, m = len(slot), len(problem.capacity)
    if n == 0 or m < 2:
        return slot.copy(), 0
    state = _Assignment.of(problem, slot)
    total = float(state.load.sum())
    now = rep_penalty(problem, np.arange(m), state.pot, state.load, total)
    scale = max(float(np.abs(state.cost).mean()), 1e-9)
    valid = problem.cand_rep != NO_REP
    exchanges = 0
    for r in np.argsort(-now, kind="stable"):
        if now[r] <= 0:
            break
        if deadline is not None and time.perf_counter() > deadline:
            break
        best = _best_exchange(problem, state, now, total, r, valid, shortlist)
        if best is None or not best.gain < -1e-9 * scale:
            continue
        state.assign(problem, best.out, best.out_slot)
        state.assign(problem, best.into, best.into_slot)
        touched = np.unique([r, best.giver, best.taker])
        now[touched] = rep_penalty(problem, touched, state.pot[touched], state.load[touched], total)
        exchanges += 1
    return state.slot, exchanges


def _best_exchange(
    problem: RepairProblem, state: _Assignment, now: NDArray[np.float64], total: float, r: np.int64,
    valid: NDArray[np.bool_], shortlist: int,
) -> _Exchange | None:
    """The best (account out of r, account into r) pair over the shortlists; None if r has no side."""
    p, rep, work, cost, moving, pot, load = (
        problem.potential, state.rep, state.work, state.cost, state.moving, state.pot, state.load
    )
    # accounts elsewhere that r could take: (j, slot kj), their rep s
    in_j, in_k = np.nonzero((problem.cand_rep == r) & (rep != r)[:, None])
    # accounts of r that another rep t could take: (i, slot ki)
    mine = rep == r
    out_i, out_k = np.nonzero(valid & mine[:, None] & (problem.cand_rep != r))
    if in_j.size == 0 or out_i.size == 0:
        return None
    s_rep, t_rep = rep[in_j], problem.cand_rep[out_i, out_k]
    w_in = problem.cand_work[in_j, in_k]
    w_out_t = problem.cand_work[out_i, out_k]
    d_in = (
        rep_penalty(problem, s_rep, pot[s_rep] - p[in_j], load[s_rep] - work[in_j], total)
        - now[s_rep] + problem.cand_cost[in_j, in_k] - cost[in_j]
    )
    d_out = (
        rep_penalty(problem, t_rep, pot[t_rep] + p[out_i], load[t_rep] + w_out_t, total)
        - now[t_rep] + problem.cand_cost[out_i, out_k] - cost[out_i]
    )
    a = _shortlist(d_in, p[in_j] / np.maximum(w_in, 1e-9), shortlist)
    b = _shortlist(d_out, -p[out_i] / np.maximum(work[out_i], 1e-9), shortlist)
    j, kj, s_ = in_j[a], in_k[a], s_rep[a]
    i, ki, t_ = out_i[b], out_k[b], t_rep[b]
    # r's own change for every (out, in) combination
    pr = pot[r] - p[i][:, None] + p[j][None, :]
    lr = load[r] - work[i][:, None] + w_in[a][None, :]
    gain = rep_penalty(problem, np.full(pr.shape, r), pr, lr, total) - now[r]
    gain = gain + d_out[b][:, None] + d_in[a][None, :]
    same = t_[:, None] == s_[None, :]
    if same.any():
        # s gives j and receives i: score that rep once, with both changes
        oi, ij = np.nonzero(same)
        srep = s_[ij]
        both = (
            rep_penalty(
                problem, srep,
                pot[srep] - p[j[ij]] + p[i[oi]],
                load[srep] - work[j[ij]] + w_out_t[b][oi],
                total,
            )
            - now[srep]
            + problem.cand_cost[j[ij], kj[ij]] - cost[j[ij]]
            + problem.cand_cost[i[oi], ki[oi]] - cost[i[oi]]
        )
        gain[oi, ij] = rep_penalty(
            problem, np.full(len(oi), r), pr[oi, ij], lr[oi, ij], total
        ) - now[r] + both
    if problem.move_budget is not None:
        extra = (
            (problem.cand_is_move[i, ki].astype(int) - moving[i])[:, None]
            + (problem.cand_is_move[j, kj].astype(int) - moving[j])[None, :]
        )
        gain = np.where(int(moving.sum()) + extra > problem.move_budget, np.inf, gain)
    x, y = np.unravel_index(int(np.argmin(gain)), gain.shape)
    return _Exchange(float(gain[x, y]), int(i[x]), int(ki[x]), int(j[y]), int(kj[y]), int(s_[y]), int(t_[x]))


def _shortlist(delta: NDArray[np.float64], appeal: NDArray[np.float64], size: int) -> NDArray[np.int64]:
    """Indices of the `size` best by own cost change, plus the `size` most appealing."""
    if delta.size <= 2 * size:
        return np.arange(delta.size)
    by_delta = np.argpartition(delta, size)[:size]
    by_appeal = np.argpartition(-appeal, size)[:size]
    return np.unique(np.concatenate([by_delta, by_appeal]))


def objective(problem: RepairProblem, slot: NDArray[np.int64]) -> tuple[float, float]:
    """What the search minimises, in its two parts: every rep's penalty, and every account's cost."""
    state = _Assignment.of(problem, slot)
    m = len(problem.capacity)
    total = float(state.load.sum())
    penalty = rep_penalty(problem, np.arange(m), state.pot, state.load, total)
    return float(penalty.sum()), float(state.cost.sum())


def moves_used(problem: RepairProblem, slot: NDArray[np.int64]) -> int:
    """Accounts the slots move away from a rep they could keep (what the move budget counts)."""
    return int(problem.cand_is_move[np.arange(len(slot)), slot].sum())


def shift_boundary(
    problem: RepairProblem, slot: NDArray[np.int64], rng: np.random.Generator, size: int
) -> NDArray[np.int64] | None:
    """A perturbation: a random account's rep r hands the `size` accounts cheapest to hand over to
    one of that account's other candidate reps s (a shift of their common boundary).

    None when the drawn account has no other candidate.
    """
    n = len(slot)
    rows = np.arange(n)
    rep = problem.cand_rep[rows, slot]
    i = int(rng.integers(n))
    others = np.flatnonzero((problem.cand_rep[i] != NO_REP) & (problem.cand_rep[i] != rep[i]))
    if others.size == 0:
        return None
    s = problem.cand_rep[i, int(rng.choice(others))]
    acc, k = np.nonzero((problem.cand_rep == s) & (rep == rep[i])[:, None])
    extra = problem.cand_cost[acc, k] - problem.cand_cost[acc, slot[acc]]
    order = np.argsort(extra, kind="stable")
    acc, k = acc[order], k[order]
    _, first = np.unique(acc, return_index=True)  # one slot per account: its cheapest to s
    chosen = np.sort(first)[:size]
    shifted = slot.copy()
    shifted[acc[chosen]] = k[chosen]
    return shifted
