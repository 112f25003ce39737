"""Micro-clusters of nearby, alike accounts: the units of the LP of a book too big for one LP.

Deterministic median cuts, so the same book gives the same clusters; accounts
share a cluster only with accounts of the same skills (and, in minimal mode,
the same current rep), so a cluster can go to any rep one of its accounts can.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from planner.model import Account


def group_keys(accounts: Sequence[Account], cur: NDArray[np.int64] | None) -> NDArray[np.int64]:
    """Accounts may share a cluster only with the same skills (and current rep, in minimal mode)."""
    skill_sets: dict[frozenset[str], int] = {}
    skill = np.array([skill_sets.setdefault(a.skills, len(skill_sets)) for a in accounts])
    if cur is None:
        return skill.astype(np.int64)
    return (skill * (int(cur.max(initial=0)) + 2) + cur + 1).astype(np.int64)


def plane(accounts: Sequence[Account]) -> NDArray[np.float64]:
    """Locations as roughly-kilometre x/y, good enough to cut clusters along the longer side."""
    lat = np.array([a.lat for a in accounts], dtype=np.float64)
    lon = np.array([a.lon for a in accounts], dtype=np.float64)
    return np.c_[lon * 111.0 * np.cos(np.radians(lat)), lat * 111.0]


def micro_clusters(xy: NDArray[np.float64], groups: NDArray[np.int64], size: int) -> NDArray[np.int64]:
    """Label accounts with clusters of at most `size` neighbours from the same group.

    Recursive median cuts along the longer side: deterministic, O(n log² n),
    and clusters stay small in dense metros and large-area in the country.
    """
    labels = np.empty(len(xy), dtype=np.int64)
    stack = [np.flatnonzero(groups == g) for g in np.unique(groups)[::-1]]
    count = 0
    while stack:
        idx = stack.pop()
        if len(idx) <= size:
            labels[idx] = count
            count += 1
            continue
        pts = xy[idx]
        axis = int(np.argmax(pts.max(axis=0) - pts.min(axis=0)))
        order = idx[np.argsort(pts[:, axis], kind="stable")]
        half = len(order) // 2
        stack += [order[half:], order[:half]]
    return labels


class Units:
    """Sums over the accounts of each cluster."""

    def __init__(self, labels: NDArray[np.int64]) -> None:
        self.count = int(labels.max()) + 1 if labels.size else 0
        self.order = np.argsort(labels, kind="stable")
        self.starts = np.flatnonzero(np.r_[True, np.diff(labels[self.order]) != 0])
        self.first = self.order[self.starts]
        self.size = np.bincount(labels, minlength=self.count).astype(np.float64)

    def sum(self, matrix: NDArray[np.float64]) -> NDArray[np.float64]:
        """(reps, accounts) → (reps, clusters)."""
        return np.asarray(np.add.reduceat(matrix[:, self.order], self.starts, axis=1))
