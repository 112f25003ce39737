"""`CachedTravel`: a road engine's answers kept in the store, so the nightly run routes only what changed.

Every pair an engine answers is one `TravelPair` row, keyed by the engine's
`TravelKey` (engine, profile, data version) and the two points rounded to
1e-5 degrees (about a metre; the points sent to the engine are rounded the
same way, so a cached pair is exactly what the engine said). A table of n × m
points reads the pairs it knows and asks the engine only for the rest: the
points that are new get their rows and columns, nothing else. Rebuilt tiles
have a new data version, so their pairs miss, and the rows of older versions
of the same engine and profile are deleted when a new version is first used.

A pair with no route is stored without minutes; the fallback (straight line ×
a penalty) is applied on reading, and the pair stays flagged, as the engine
itself would flag it. An OSRM server that reports no data version is not
cached: nothing would tell when its data changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sqlalchemy import Connection, Engine, Table, delete, select
from sqlalchemy.dialects import sqlite
from sqlmodel import col

from connectors.roads import Fallback, IssueKind, PointIssue, RoadTable, TravelKey, Unreachable
from connectors.roads.matrix import as_points, record_point_issues
from connectors.roads.osrm import UNVERSIONED
from sync.store import TravelPair, transaction
from sync.store.types import utcnow

T = TypeVar("T")

DECIMALS = 5
QUERY_CHUNK = 400  # points per IN (...) list
INSERT_CHUNK = 5_000
PAIRS: Table = TravelPair.__table__  # type: ignore[attr-defined]
COLUMNS = (
    "engine", "profile", "data_version", "origin", "destination",
    "minutes", "km", "origin_off_road", "destination_off_road", "created_at",
)  # fmt: skip
READ_COLUMNS = COLUMNS[3:9]


class RoadEngine(Protocol):
    """What the cache needs of a road engine (`connectors.roads.RoadTravel` is one)."""

    @property
    def key(self) -> TravelKey: ...

    @property
    def fallback(self) -> Fallback: ...

    @property
    def max_snap_m(self) -> float: ...

    def table(self, origins: ArrayLike, destinations: ArrayLike) -> RoadTable: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class CachedPair:
    minutes: float | None  # None: the engine found no route
    km: float | None
    origin_off_road: bool
    destination_off_road: bool


@dataclass(frozen=True, slots=True)
class CacheCounts:
    """How a cached engine was used: tables asked of the engine, pairs routed, pairs read from the store."""

    engine_requests: int
    pairs_routed: int
    pairs_from_store: int


def point_key(lat: float, lon: float) -> str:
    return f"{lat:.{DECIMALS}f},{lon:.{DECIMALS}f}"


class CachedTravel:
    """The planner's `TravelMatrix` over a road engine, through the store's `travel_pair` rows.

    Without a store (`tsync plan-file`), only the pairs of this process are kept.
    """

    def __init__(self, engine: RoadEngine, store: Engine | None) -> None:
        self.engine = engine
        self.store = store
        self.fallback = engine.fallback
        self._known: dict[tuple[str, str], CachedPair] = {}
        self._last: tuple[bytes, bytes, RoadTable] | None = None
        self._issues: dict[tuple[float, float], IssueKind] = {}
        self._requests = self._routed = self._read = 0
        self._pruned: str | None = None
        self._probed = False

    def __repr__(self) -> str:
        return f"CachedTravel({self.engine!r})"

    @property
    def key(self) -> TravelKey:
        return self.engine.key

    def close(self) -> None:
        self.engine.close()

    @property
    def _db(self) -> Engine:
        assert self.store is not None, "only a cache with a store reads and writes pairs"
        return self.store

    @property
    def counts(self) -> CacheCounts:
        return CacheCounts(self._requests, self._routed, self._read)

    # ------------------------------------------------------------------ TravelMatrix

    def durations(self, origins: ArrayLike, destinations: ArrayLike) -> NDArray[np.float64]:
        return self.table(origins, destinations).minutes

    def distances(self, origins: ArrayLike, destinations: ArrayLike) -> NDArray[np.float64]:
        return self.table(origins, destinations).km

    # ------------------------------------------------------------------ tables and reports

    @property
    def unreachable(self) -> Unreachable:
        return Unreachable(0, (), (), (), ()) if self._last is None else self._last[2].unreachable

    def issues(self) -> tuple[PointIssue, ...]:
        return tuple(PointIssue(lat, lon, kind) for (lat, lon), kind in sorted(self._issues.items()))

    def no_route(self, origin: tuple[float, float], destination: tuple[float, float]) -> bool:
        """Whether the drive from `origin` to `destination` has no road route (it gets the fallback)."""
        a, b = point_key(*origin), point_key(*destination)
        if a == b:
            return False
        if (a, b) not in self._known:
            self.table([origin], [destination])  # the planner tabled it, as a rule: this is the exception
        pair = self._known.get((a, b))
        return pair is not None and pair.minutes is None

    def table(self, origins: ArrayLike, destinations: ArrayLike) -> RoadTable:
        src = np.round(as_points(origins), DECIMALS)
        dst = np.round(as_points(destinations), DECIMALS)
        memo = (src.tobytes(), dst.tobytes())
        if self._last is not None and self._last[:2] == memo:
            return self._last[2]
        usrc, src_at = np.unique(src, axis=0, return_inverse=True)
        udst, dst_at = np.unique(dst, axis=0, return_inverse=True)
        unique = self._unique_table(usrc, udst)
        full = _expand(unique, src_at.reshape(-1), dst_at.reshape(-1))
        self._record_issues(src, dst, full)
        self._last = (memo[0], memo[1], full)
        return full

    def _unique_table(self, src: NDArray[np.float64], dst: NDArray[np.float64]) -> RoadTable:
        okeys = [point_key(lat, lon) for lat, lon in src.tolist()]
        dkeys = [point_key(lat, lon) for lat, lon in dst.tolist()]
        missing = self._missing(okeys, dkeys)
        key = self._versioned_key(src) if missing.any() else self.engine.key
        cacheable = self.store is not None and key.data_version != UNVERSIONED
        if cacheable and missing.any():
            self._prune(key)
            self._load(key, okeys, dkeys, missing)
            missing = self._missing(okeys, dkeys)
        if missing.any():
            self._route(src, dst, okeys, dkeys, missing)
        return self._assemble(src, dst, okeys, dkeys)

    def _versioned_key(self, src: NDArray[np.float64]) -> TravelKey:
        """The engine's key; an OSRM server tells its data version only with an answer: ask it one pair."""
        key = self.engine.key
        if self.store is not None and key.data_version == UNVERSIONED and not self._probed:
            self._probed = True
            self.engine.table(src[:1], src[:1])
            self._requests += 1
            key = self.engine.key
        return key

    def _missing(self, okeys: Sequence[str], dkeys: Sequence[str]) -> NDArray[np.bool_]:
        known = self._known
        return np.array([[(o, d) not in known for d in dkeys] for o in okeys], dtype=bool).reshape(
            len(okeys), len(dkeys)
        )

    # ------------------------------------------------------------------ the store

    def _prune(self, key: TravelKey) -> None:
        """Forget the pairs of older data of this engine and profile (rebuilt tiles), once per version."""
        if self._pruned == key.data_version:
            return
        with transaction(self._db) as session:
            session.execute(
                delete(TravelPair).where(
                    col(TravelPair.engine) == key.engine,
                    col(TravelPair.profile) == key.profile,
                    col(TravelPair.data_version) != key.data_version,
                )
            )
        self._pruned = key.data_version

    def _load(
        self, key: TravelKey, okeys: Sequence[str], dkeys: Sequence[str], missing: NDArray[np.bool_]
    ) -> None:
        want_o = [okeys[i] for i in np.flatnonzero(missing.any(axis=1)).tolist()]
        want_d = [dkeys[j] for j in np.flatnonzero(missing.any(axis=0)).tolist()]
        table = PAIRS
        wanted = select(*(table.c[name] for name in READ_COLUMNS)).where(
            table.c.engine == key.engine,
            table.c.profile == key.profile,
            table.c.data_version == key.data_version,
        )
        with self._db.connect() as connection:  # plain rows: ORM objects cost 10x on 100k pairs
            for o_part in _chunks(want_o, QUERY_CHUNK):
                for d_part in _chunks(want_d, QUERY_CHUNK):
                    query = wanted.where(table.c.origin.in_(o_part), table.c.destination.in_(d_part))
                    for origin, destination, minutes, km, off_o, off_d in connection.execute(query):
                        if (origin, destination) not in self._known:
                            self._read += 1
                        self._known[(origin, destination)] = CachedPair(minutes, km, off_o, off_d)

    def _save(self, rows: list[tuple[Any, ...]]) -> None:
        with self._db.begin() as connection:
            if connection.dialect.name == "postgresql":
                _copy_in(connection, rows)
            else:
                statement = sqlite.insert(PAIRS).on_conflict_do_nothing()  # another worker routed it first
                for part in _chunks(rows, INSERT_CHUNK):
                    connection.execute(statement, [dict(zip(COLUMNS, row, strict=True)) for row in part])

    # ------------------------------------------------------------------ the engine

    def _route(
        self,
        src: NDArray[np.float64],
        dst: NDArray[np.float64],
        okeys: Sequence[str],
        dkeys: Sequence[str],
        missing: NDArray[np.bool_],
    ) -> None:
        """Ask the engine for the missing pairs, in the blocks `_blocks` chooses, and keep them."""
        for rows, cols in _blocks(missing):
            answer = self.engine.table(src[rows], dst[cols])
            self._requests += 1
            self._routed += len(rows) * len(cols)
            fresh = list(_pairs(answer, [okeys[i] for i in rows.tolist()], [dkeys[j] for j in cols.tolist()]))
            self._known.update(fresh)
            key = self.engine.key  # after the request: an OSRM table tells its version with its answer
            if self.store is not None and key.data_version != UNVERSIONED:
                self._save([_row(key, o, d, p) for (o, d), p in fresh])

    # ------------------------------------------------------------------ assembling a table

    def _assemble(
        self, src: NDArray[np.float64], dst: NDArray[np.float64], okeys: Sequence[str], dkeys: Sequence[str]
    ) -> RoadTable:
        n, m = len(okeys), len(dkeys)
        minutes, km = np.full((n, m), np.nan), np.full((n, m), np.nan)
        off_src, off_dst = np.zeros(n, dtype=bool), np.zeros(m, dtype=bool)
        for i, o in enumerate(okeys):
            for j, d in enumerate(dkeys):
                pair = self._known[(o, d)]
                if pair.minutes is not None and pair.km is not None:
                    minutes[i, j], km[i, j] = pair.minutes, pair.km
                off_src[i] |= pair.origin_off_road
                off_dst[j] |= pair.destination_off_road
        flagged = ~np.isfinite(minutes)
        if flagged.any():
            fallback_km = self.fallback.km(src, dst)
            km[flagged] = fallback_km[flagged]
            minutes[flagged] = self.fallback.minutes(fallback_km)[flagged]
        return RoadTable(minutes, km, flagged, off_src, off_dst)

    def _record_issues(self, src: NDArray[np.float64], dst: NDArray[np.float64], table: RoadTable) -> None:
        record_point_issues(self._issues, src, dst, table)


def _blocks(missing: NDArray[np.bool_]) -> list[tuple[NDArray[np.intp], NDArray[np.intp]]]:
    """Blocks (rows, cols) that cover the missing cells with few pairs asked twice.

    Rows missing most of the columns that miss anything (new points, points new to
    this set) are asked over those columns; the other rows only over the columns
    they miss. A point that joined a territory misses its whole row and column,
    so both blocks together are about exactly its pairs.
    """
    rows = np.flatnonzero(missing.any(axis=1))
    if len(rows) == 0:
        return []
    cols_missing = missing.any(axis=0)
    share = missing[:, cols_missing].sum(axis=1) / max(int(cols_missing.sum()), 1)
    heavy = missing.any(axis=1) & (share >= 0.5)
    blocks = []
    for chosen in (heavy, missing.any(axis=1) & ~heavy):
        if chosen.any():
            blocks.append((np.flatnonzero(chosen), np.flatnonzero(missing[chosen].any(axis=0))))
    return blocks


def _pairs(
    answer: RoadTable, okeys: Sequence[str], dkeys: Sequence[str]
) -> Iterator[tuple[tuple[str, str], CachedPair]]:
    minutes, km, flagged = answer.minutes.tolist(), answer.km.tolist(), answer.flagged.tolist()
    off_o, off_d = answer.unsnapped_origins.tolist(), answer.unsnapped_destinations.tolist()
    for i, o in enumerate(okeys):
        for j, d in enumerate(dkeys):
            routed = not flagged[i][j]
            pair = CachedPair(
                minutes[i][j] if routed else None, km[i][j] if routed else None, off_o[i], off_d[j]
            )
            yield (o, d), pair


def _row(key: TravelKey, origin: str, destination: str, pair: CachedPair) -> tuple[Any, ...]:
    """A `travel_pair` row, its values in `COLUMNS` order."""
    return (
        key.engine,
        key.profile,
        key.data_version,
        origin,
        destination,
        pair.minutes,
        pair.km,
        pair.origin_off_road,
        pair.destination_off_road,
        utcnow(),
    )


def _copy_in(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """PostgreSQL: COPY the rows into a session table, then keep those not stored yet (50x an INSERT)."""
    raw: Any = connection.connection.driver_connection
    names = ", ".join(COLUMNS)
    with raw.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS travel_pair_in (LIKE travel_pair) ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY travel_pair_in ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        # Another worker may have routed some of them first: theirs stand.
        cursor.execute(
            f"INSERT INTO travel_pair ({names}) SELECT {names} FROM travel_pair_in ON CONFLICT DO NOTHING"
        )


def _expand(table: RoadTable, rows: NDArray[np.intp], cols: NDArray[np.intp]) -> RoadTable:
    """The table of unique points laid back onto the points as asked (repeats included)."""
    grid = np.ix_(rows, cols)
    return RoadTable(
        table.minutes[grid],
        table.km[grid],
        table.flagged[grid],
        table.unsnapped_origins[rows],
        table.unsnapped_destinations[cols],
    )


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
