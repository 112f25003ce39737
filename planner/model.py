"""The planner's vocabulary: frozen dataclasses in, frozen result objects out.

Nothing here reads a clock, a file handle or a database; `Policy.from_toml`
parses TOML *text* handed to it, so the caller owns the I/O.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from types import MappingProxyType
from typing import Any

from planner.public_holidays import check_holiday_region

# --------------------------------------------------------------------------- inputs


WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A fixed appointment: the visit must *start* within [start, end] minutes after midnight.

    With `on` set it is pinned to that date (a booked meeting); without, it is a
    standing constraint (the surgeon who only sees reps 7:15-7:30): on every day,
    or with `weekdays` (Monday = 0) only on those days, e.g. "Tue 07:15-07:30".
    An account whose standing windows all name weekdays is visited on those days only.
    """

    start_minute: int
    end_minute: int
    on: date | None = None
    weekdays: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if not 0 <= self.start_minute <= self.end_minute <= 24 * 60:
            raise ValueError(f"time window {self.start_minute}-{self.end_minute} is not within one day")
        if self.weekdays and self.on is not None:
            raise ValueError("a time window is either on a date or on weekdays, not both")
        if not self.weekdays <= frozenset(range(7)):
            raise ValueError(f"weekdays are 0 (Monday) to 6 (Sunday), not {sorted(self.weekdays)}")

    def applies_on(self, day: date) -> bool:
        """Whether this window constrains a visit on `day`."""
        if self.on is not None:
            return day == self.on
        return not self.weekdays or day.weekday() in self.weekdays

    def __str__(self) -> str:
        times = f"{hhmm(self.start_minute)}-{hhmm(self.end_minute)}"
        if self.on is not None:
            return f"{self.on.isoformat()} {times}"
        if self.weekdays:
            return f"{','.join(WEEKDAY_NAMES[d] for d in sorted(self.weekdays))} {times}"
        return times


def parse_standing_windows(text: str) -> tuple[TimeWindow, ...]:
    """Standing windows from text such as "Tue 07:15-07:30; Thu,Fri 12:00-13:00; 16:00-17:00"
    (no weekday: every day; "Mon-Wed" is a range); ValueError naming the part it cannot read."""
    windows = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        days_text, _, times = part.rpartition(" ")
        start, sep, end = times.partition("-")
        if not sep:
            raise ValueError(f"{part!r} is not a window like 'Tue 07:15-07:30'")
        windows.append(
            TimeWindow(
                parsehhmm(start, f"the start of {part!r}"),
                parsehhmm(end, f"the end of {part!r}"),
                weekdays=_weekdays(days_text, part),
            )
        )
    return tuple(windows)


def _weekdays(text: str, part: str) -> frozenset[int]:
    """"Tue", "Tue,Thu", "Mon-Fri" (English three-letter names, any case) as Monday = 0 numbers."""
    days: set[int] = set()
    names = [n.lower() for n in WEEKDAY_NAMES]
    for item in (i.strip().lower() for i in text.replace(" ", ",").split(",")):
        if not item:
            continue
        first, _, last = item.partition("-")
        if first[:3] not in names or (last and last[:3] not in names):
            raise ValueError(f"{part!r}: {item!r} is not a weekday (Mon, Tue, ... Sun)")
        a, b = names.index(first[:3]), names.index((last or first)[:3])
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(b + 1)])
    return frozenset(days)


def hhmm(minute: int) -> str:
    """Minutes after midnight as HH:MM."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parsehhmm(text: str, what: str) -> int:
    """Minutes after midnight of an "HH:MM" time; ValueError naming `what` otherwise."""
    hours, sep, minutes = text.strip().partition(":")
    if sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2:
        minute = int(hours) * 60 + int(minutes)
        if int(minutes) < 60 and 0 <= minute <= 24 * 60:
            return minute
    raise ValueError(f"{what} must be a time of day as HH:MM, not {text!r}")


@dataclass(frozen=True, slots=True)
class Account:
    """A customer location a rep must serve.

    `lat`/`lon` are None when the CRM gave no usable location; such an account
    is returned unassigned with a reason, never dropped.
    """

    id: str
    lat: float | None
    lon: float | None
    tier: str = "C"
    potential: float = 0.0
    effort: float = 1.0  # access-complexity multiplier on visit minutes
    name: str = ""
    segment: str | None = None
    skills: frozenset[str] = frozenset()  # skills a rep needs to serve it
    current_rep: str | None = None
    locked: bool = False  # strategic/grandfathered, or a human edit in the CRM
    windows: tuple[TimeWindow, ...] = ()
    approximate_location: bool = False  # geocoded from a postal code
    address: str = ""  # for the rep's day sheet; the planner only carries it
    # × the minimal mode's price of moving it: above 1 for an account with open pipeline or a
    # recent visit by its rep, so the plan moves accounts nobody is working first
    move_cost: float = 1.0
    # not moved by choice (an open deal, a handover in progress): it stays with its rep unless
    # that rep cannot keep it (left, lacks a skill, beyond a day's drive). Unlike `locked`, it
    # then moves like any account, and its rep's lack of a skill is not overruled.
    keep_rep: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.move_cost < float("inf"):
            raise ValueError(f"account {self.id}: move_cost must be a number >= 0, not {self.move_cost}")

    @property
    def located(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass(frozen=True, slots=True)
class Rep:
    """A field rep. Every working day starts and ends at `home` unless a calendar says otherwise."""

    id: str
    home_lat: float
    home_lon: float
    name: str = ""
    skills: frozenset[str] = frozenset()
    working_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    day_start_minute: int = 8 * 60
    day_end_minute: int = 17 * 60
    target_share: float = 1.0  # 0.5 for a ramping new hire: half a fair share (and half the time)
    overlay: bool = False  # overlay specialists form their own layer over the base reps
    days_off: frozenset[date] = frozenset()
    # public holidays (the `holidays` package): ISO country and subdivision, e.g. "US", "NY";
    # empty: the policy's `[calendar]` default
    holidays_country: str = ""
    holidays_subdivision: str = ""
    time_zone: str = ""  # IANA zone of the rep's day (e.g. "America/New_York"), carried for the caller

    def __post_init__(self) -> None:
        if not 0.0 < self.target_share < float("inf"):
            raise ValueError(f"rep {self.id}: target_share must be positive, not {self.target_share}")


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True, slots=True)
class TierPolicy:
    visits_per_year: float
    visit_minutes: float


def _default_tiers() -> Mapping[str, TierPolicy]:
    return MappingProxyType(
        {
            "A": TierPolicy(visits_per_year=24, visit_minutes=60),
            "B": TierPolicy(visits_per_year=12, visit_minutes=45),
            "C": TierPolicy(visits_per_year=4, visit_minutes=30),
        }
    )


@dataclass(frozen=True, slots=True)
class CapacityPolicy:
    selling_days: int = 220  # per year, after holidays, training, vacation
    day_minutes: int = 540  # a working day, door to door
    admin_share: float = 0.10  # of each day spent on CRM, email, expenses
    buffer: float = 0.15  # kept free for the unplanned (15-20 % is usual)
    lunch: int = 0  # minutes of lunch break in a call-plan day (0: none planned)
    lunch_from: str = "12:00"  # taken at the first break between visits from this time

    def __post_init__(self) -> None:
        if self.lunch < 0:
            raise ValueError("capacity.lunch must not be negative")
        parsehhmm(self.lunch_from, "capacity.lunch_from")

    @property
    def lunch_from_minute(self) -> int:
        return parsehhmm(self.lunch_from, "capacity.lunch_from")

    @property
    def selling_minutes_per_year(self) -> float:
        return self.selling_days * self.day_minutes * (1.0 - self.admin_share)

    @property
    def plannable_minutes_per_year(self) -> float:
        return self.selling_minutes_per_year * (1.0 - self.buffer)


@dataclass(frozen=True, slots=True)
class BalancePolicy:
    potential_band: float = 0.05  # each rep within ±5 % of its fair share of potential
    workload_band: float = 0.05  # ... and of workload
    revenue_cv_max: float = 0.10  # thresholds the reports highlight
    workload_cv_max: float = 0.15
    gini_max: float = 0.15
    min_max_ratio_min: float = 0.7


@dataclass(frozen=True, slots=True)
class DisruptionPolicy:
    max_move_share: float = 0.20  # of accounts that may change rep by choice over `window_days`
    move_cost: float = 1.0  # weight of disruption against compactness in the objective
    window_days: int = 90  # the move budget holds over this rolling window, not per run
    cooldown_days: int = 180  # an account moved by choice is not moved by choice again within this

    def __post_init__(self) -> None:
        if self.window_days < 1 or self.cooldown_days < 0:
            raise ValueError("disruption.window_days must be >= 1 and cooldown_days >= 0")


@dataclass(frozen=True, slots=True)
class TriggerPolicy:
    """When owners change by choice at all: only once balance drifts past these (stable nights)."""

    share_band: float = 0.15  # a rep outside ±15 % of its fair share of potential or workload
    potential_cv: float = 0.10  # or the spread (CV) of potential over reps above this

    def __post_init__(self) -> None:
        if self.share_band < 0 or self.potential_cv < 0:
            raise ValueError("trigger.share_band and trigger.potential_cv must not be negative")


@dataclass(frozen=True, slots=True)
class TransitionPolicy:
    """How territory changes are carried out; the caller applies these (the planner sees only
    `Account.keep_rep`)."""

    # an account with an open deal above this amount is not moved by choice while the deal is open
    protect_pipeline_over: float = 10_000.0
    # an approved move takes effect this many days after approval, with a handoff visit before (0: at once)
    days: int = 30

    def __post_init__(self) -> None:
        if not 0.0 <= self.protect_pipeline_over < float("inf"):
            raise ValueError("transition.protect_pipeline_over must be an amount >= 0")
        if self.days < 0:
            raise ValueError("transition.days must be >= 0")


@dataclass(frozen=True, slots=True)
class CalendarPolicy:
    """Defaults for reps that do not say: where their public holidays come from, and their zone."""

    holidays_country: str = ""  # ISO code for the `holidays` package, e.g. "US", "DE"; "": none
    holidays_subdivision: str = ""  # e.g. "NY", "BY"
    time_zone: str = ""  # IANA zone, e.g. "America/New_York"

    def __post_init__(self) -> None:
        check_holiday_region(self.holidays_country, self.holidays_subdivision)


@dataclass(frozen=True, slots=True)
class TravelPolicy:
    speed_kmh: float = 50.0
    circuity: float = 1.3  # road km per great-circle km
    # visits per route: the drive out and back is shared by this many stops
    # when a territory's workload amortises travel
    stops_per_day: float = 5.0


@dataclass(frozen=True, slots=True)
class Policy:
    tiers: Mapping[str, TierPolicy] = field(default_factory=_default_tiers)
    default_tier: str = "C"  # for accounts whose tier the CRM leaves empty or unknown
    capacity: CapacityPolicy = CapacityPolicy()
    balance: BalancePolicy = BalancePolicy()
    disruption: DisruptionPolicy = DisruptionPolicy()
    trigger: TriggerPolicy = TriggerPolicy()
    travel: TravelPolicy = TravelPolicy()
    calendar: CalendarPolicy = CalendarPolicy()
    transition: TransitionPolicy = TransitionPolicy()
    # when the team is short: "report" the coverage plan that fits, or "fit" (apply it to call plans)
    coverage: str = "report"
    coverage_order: str = "tier"  # cut the lowest tiers first, or "value": least potential per minute
    coverage_floor: float = 2.0  # visits a year a tier is cut to before its accounts go to digital touch

    def __post_init__(self) -> None:
        if self.coverage not in ("report", "fit"):
            raise ValueError(f"coverage must be 'report' or 'fit', not {self.coverage!r}")
        if self.coverage_order not in ("tier", "value"):
            raise ValueError(f"coverage_order must be 'tier' or 'value', not {self.coverage_order!r}")
        if self.coverage_floor < 0:
            raise ValueError("coverage_floor must not be negative")
        if self.default_tier not in self.tiers:
            raise ValueError(f"default_tier {self.default_tier!r} is not one of {list(self.tiers)}")
        if not 0.0 <= self.capacity.buffer < 1.0:
            raise ValueError("capacity.buffer must be in [0, 1)")
        if not 0.0 <= self.disruption.max_move_share <= 1.0:
            raise ValueError("disruption.max_move_share must be in [0, 1]")

    def tier(self, name: str | None) -> TierPolicy:
        """The tier's policy; unknown or empty tiers fall back to `default_tier`."""
        if name is not None and name in self.tiers:
            return self.tiers[name]
        return self.tiers[self.default_tier]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Build a policy from a nested mapping; missing keys keep their defaults.

        Unknown keys raise, so a typo in a policy file is not silently ignored.
        """
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown policy keys: {sorted(unknown)}")
        policy = cls()
        changes: dict[str, Any] = {}
        if "tiers" in data:
            tiers = dict(policy.tiers)
            for name, spec in data["tiers"].items():
                base = tiers.get(name, TierPolicy(visits_per_year=4, visit_minutes=30))
                tiers[name] = _merge(base, spec, f"tiers.{name}")
            changes["tiers"] = MappingProxyType(tiers)
        for key, kind in (("default_tier", str), ("coverage", str), ("coverage_order", str),
                          ("coverage_floor", float)):
            if key in data:
                changes[key] = kind(data[key])
        for section in ("capacity", "balance", "disruption", "trigger", "travel", "calendar", "transition"):
            if section in data:
                changes[section] = _merge(getattr(policy, section), data[section], section)
        return replace(policy, **changes)

    @classmethod
    def from_toml(cls, text: str) -> Policy:
        """Parse a policy from TOML text; an empty document gives the defaults."""
        return cls.from_dict(tomllib.loads(text))


def _merge(base: Any, spec: Mapping[str, Any], where: str) -> Any:
    if not isinstance(spec, Mapping):
        raise ValueError(f"policy section {where!r} must be a table")
    allowed = {f.name for f in fields(base)}
    unknown = set(spec) - allowed
    if unknown:
        raise ValueError(f"unknown keys in policy section {where!r}: {sorted(unknown)}")
    return replace(base, **{k: type(getattr(base, k))(v) for k, v in spec.items()})


# --------------------------------------------------------------------------- territory results


@dataclass(frozen=True, slots=True)
class Unassigned:
    """An account the planner could not give to anyone, and why (never silently dropped)."""

    account_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class OutOfBand:
    """A rep the plan leaves outside the policy's balance band or over capacity, and what limits them.

    Under the reach rule some books cannot be balanced on both dimensions:
    a rep alone in a small town reaches few accounts, and their drive makes
    them dearer to serve than the team's; a metro's hinterland can need more
    time than the reps who can reach it have, while the team has room
    elsewhere. The plan says so, with the figures a manager needs (e.g. to set
    a `target_share`, or where to hire), instead of hiding it in a CV.
    """

    rep_id: str
    potential_vs_target: float
    workload_vs_target: float
    utilisation: float  # workload / capacity
    reason: str


@dataclass(frozen=True, slots=True)
class Move:
    """One account changing hands, with a reason a rep manager can read."""

    account_id: str
    from_rep: str | None  # None: the account had no rep before
    to_rep: str
    reason: str


@dataclass(frozen=True, slots=True)
class DimensionStats:
    """Spread of one balance dimension across reps.

    Each rep's load is divided by its fair share (its `target_share` of its
    layer's total) before the statistics are taken, so a ramping new hire at
    half a share is balanced at half the load, not flagged as under-loaded.
    """

    total: float
    cv: float  # population standard deviation / mean of the share-normalised loads
    gini: float
    min_max_ratio: float  # smallest / largest share-normalised load (1.0 is perfect)
    worst_deviation: float  # largest |load / fair share − 1| over reps


@dataclass(frozen=True, slots=True)
class RepLoad:
    """What one rep's book holds and how much of the rep it uses."""

    rep_id: str
    accounts: int
    potential: float
    workload_minutes: float  # visits × visit minutes × effort + amortised driving, per year
    capacity_minutes: float  # plannable minutes per year after admin and buffer
    utilisation: float  # workload / capacity
    travel_km: float  # visit-weighted home-to-account km per year (the compactness measure)
    drive_minutes: float  # amortised driving minutes per year included in the workload
    potential_vs_target: float  # potential / fair share of the layer's potential
    workload_vs_target: float  # workload / fair share of the layer's workload


@dataclass(frozen=True, slots=True)
class BalanceReport:
    """Balance of an assignment: per dimension spread, and each rep's load."""

    potential: DimensionStats
    workload: DimensionStats
    accounts: DimensionStats
    travel: DimensionStats
    reps: tuple[RepLoad, ...]

    @property
    def max_utilisation(self) -> float:
        return max((r.utilisation for r in self.reps), default=0.0)

    @property
    def total_travel_km(self) -> float:
        return self.travel.total

    @property
    def over_capacity(self) -> tuple[str, ...]:
        return tuple(r.rep_id for r in self.reps if r.utilisation > 1.0 + 1e-9)

    def rep(self, rep_id: str) -> RepLoad:
        for load in self.reps:
            if load.rep_id == rep_id:
                return load
        raise KeyError(rep_id)


@dataclass(frozen=True, slots=True)
class FrequencyCut:
    """What a coverage plan does to one tier (of one layer)."""

    tier: str
    overlay: bool  # the overlay layer's accounts of the tier, not the base layer's
    accounts: int  # accounts of the tier in the layer
    visits_from: float  # the policy's visits a year
    visits_to: float  # visits a year of the tier's accounts still visited
    digital: int  # of its accounts, those moved to digital touch (no visits)

    def __str__(self) -> str:
        who = f"overlay tier {self.tier}" if self.overlay else f"tier {self.tier}"
        parts = []
        if self.visits_to != self.visits_from and self.digital < self.accounts:
            parts.append(f"{who} from {self.visits_from:g} to {self.visits_to:g} visits a year")
        if self.digital:
            every = "all " if self.digital == self.accounts else ""
            parts.append(f"{every}{self.digital} {who} accounts to digital touch")
        return ", ".join(parts)


@dataclass(frozen=True)
class CoveragePlan:
    """What a short team *can* cover: the least cut to visit frequencies that fits its capacity.

    `visits_per_year` holds the accounts whose visits the cut changes (0: digital touch).
    `policy.coverage = "fit"` makes call plans schedule this subset.
    """

    cuts: tuple[FrequencyCut, ...]
    visits_per_year: Mapping[str, float]
    workload_before: float  # minutes a year of the short layers' books under the policy
    workload_after: float  # ... under the cut
    capacity: float  # the short layers' plannable minutes a year (buffer kept)
    fits: bool  # False only if cutting every tier to digital touch could not fit
    order: str  # "tier" or "value", from the policy

    def summary(self) -> str:
        """E.g. "tier C from 4 to 2 visits a year, 410 tier C accounts to digital touch"."""
        return "; ".join(str(c) for c in self.cuts if str(c)) or "no cut"


@dataclass(frozen=True, slots=True)
class TerritoryPlan:
    """The result of `planner.rebalance`: who serves which account, what moved and why.

    `assignments` holds every located, plannable account exactly once;
    everything else is in `unassigned` with a reason.
    """

    assignments: Mapping[str, str]
    unassigned: tuple[Unassigned, ...]
    moves: tuple[Move, ...]
    before: BalanceReport
    after: BalanceReport
    extra_reps_needed: int  # 0 when the team's capacity covers the book
    over_capacity: tuple[str, ...]  # rep ids whose workload exceeds capacity in `after`
    out_of_band: tuple[OutOfBand, ...] = ()  # reps outside the band or over capacity in `after`, and why
    mode: str = "minimal"
    moved_share: float = 0.0  # moved accounts / accounts that had a rep
    moved_potential_share: float = 0.0  # potential of moved accounts / total potential
    # LP bound on visit-weighted travel of any plan within the LP's band (None: no LP, or its optimum
    # left a rep outside the band, which makes it no bound on travel alone)
    lower_bound_travel_km: float | None = None
    status: str = ""  # how the solver finished, e.g. "lp+repair", "greedy+repair"
    seconds: float = 0.0
    coverage_plan: CoveragePlan | None = None  # when the team is short: the cut that fits

    def book(self) -> dict[str, tuple[str, ...]]:
        """Rep id → its account ids (sorted), the shape `build_call_plans` also accepts."""
        books: dict[str, list[str]] = {}
        for account_id, rep_id in self.assignments.items():
            books.setdefault(rep_id, []).append(account_id)
        return {rep: tuple(sorted(ids)) for rep, ids in sorted(books.items())}
