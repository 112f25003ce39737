"""The CRM-neutral seeded org: plain frozen dataclasses each emulator maps to its own shapes.

Records refer to each other by index (`SeedAccount.owner_index` is an index
into `SeedOrg.users`), so every CRM can mint its own ids. Field reps come
first in `users` (`SeedOrg.reps`), the org's other people after them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Literal

INDUSTRIES: tuple[str, ...] = (
    "Healthcare",
    "Manufacturing",
    "Retail",
    "Hospitality",
    "Construction",
    "Education",
    "Agriculture",
    "Technology",
    "Financial Services",
    "Logistics",
)
TIERS: tuple[str, ...] = ("A", "B", "C")
# What real orgs end up with in a picklist nobody cleaned: not A, B or C.
UNKNOWN_TIERS: tuple[str, ...] = ("Gold", "Tier 2", "a+", "unknown", "D")
SKILLS: tuple[str, ...] = ("Spanish", "Hazmat", "Medical devices")
WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

ActivityKind = Literal["visit", "call"]
Defect = Literal["", "no_coordinates", "no_location", "unknown_tier", "bad_potential"]


class Profile(StrEnum):
    """A Salesforce Profile name; who is a field rep is the `FIELD_SALES` profile."""

    ADMIN = "System Administrator"
    FIELD_SALES = "Field Sales"
    INSIDE_SALES = "Inside Sales"
    SALES_MANAGER = "Sales Manager"
    INTEGRATION = "Integration User"


class Role(StrEnum):
    """A Salesforce UserRole name."""

    SALES_OPERATIONS = "Sales Operations"
    SALES_MANAGER = "Sales Manager"
    FIELD_SALES_REP = "Field Sales Rep"
    OVERLAY_SPECIALIST = "Overlay Specialist"
    INSIDE_SALES_REP = "Inside Sales Rep"


class Team(StrEnum):
    """A HubSpot owner team name."""

    FIELD_SALES = "Field Sales"
    SPECIALISTS = "Specialists"
    INSIDE_SALES = "Inside Sales"
    SALES_LEADERSHIP = "Sales Leadership"
    OPERATIONS = "Operations"


# The role each role reports to (the UserRole hierarchy).
ROLE_PARENTS: dict[Role, Role | None] = {
    Role.SALES_OPERATIONS: None,
    Role.SALES_MANAGER: Role.SALES_OPERATIONS,
    Role.FIELD_SALES_REP: Role.SALES_MANAGER,
    Role.OVERLAY_SPECIALIST: Role.SALES_MANAGER,
    Role.INSIDE_SALES_REP: Role.SALES_MANAGER,
}


@dataclass(frozen=True, slots=True)
class DaysOff:
    """A run of days off, `first` to `last` inclusive (one day when they are equal)."""

    first: date
    last: date

    def as_text(self) -> str:
        """`2026-12-21..2027-01-01`, or `2027-02-14` for a single day (the team file's spelling)."""
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()}..{self.last.isoformat()}"


@dataclass(frozen=True, slots=True)
class SeedUser:
    """A person in the CRM: a Salesforce User, a HubSpot owner.

    Field reps (`profile == Profile.FIELD_SALES`) have a home and may carry
    planning facts (skills, a ramping target share, an overlay role, a
    shorter week, hours, days off) that the CRM itself does not hold: they
    reach the daemon through the team file (`write_team_file`). The org's
    other people (admin, integration user, manager, inside sales) have none.
    """

    index: int
    first_name: str
    last_name: str
    email: str
    home_lat: float | None
    home_lon: float | None
    home_postal_code: str | None
    metro: str
    active: bool
    modified_at: datetime
    time_zone: str = "America/New_York"
    profile: Profile = Profile.FIELD_SALES
    role: Role | None = Role.FIELD_SALES_REP
    teams: tuple[Team, ...] = (Team.FIELD_SALES,)  # the first is the primary team
    skills: tuple[str, ...] = ()
    target_share: float | None = None  # below 1.0: a ramping rep's share of a full book
    overlay: bool = False
    working_days: tuple[str, ...] = ()  # empty: the policy's default week
    day_start: time | None = None
    day_end: time | None = None
    days_off: tuple[DaysOff, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def is_field_rep(self) -> bool:
        return self.profile is Profile.FIELD_SALES

    @property
    def city(self) -> str | None:
        return self.metro.split(",")[0] if self.metro else None

    @property
    def state(self) -> str | None:
        return self.metro.split(", ")[-1] if self.metro else None


@dataclass(frozen=True, slots=True)
class SeedAccount:
    """An account/company. `None` fields are genuinely empty in the CRM."""

    index: int
    name: str
    lat: float | None
    lon: float | None
    postal_code: str | None
    country: str | None
    city: str
    state: str
    industry: str
    tier: str | None
    potential: float | None
    effort: float
    owner_index: int
    locked: bool
    created_at: datetime
    modified_at: datetime
    defect: Defect = ""
    required_skills: tuple[str, ...] = ()

    @property
    def annual_revenue(self) -> float | None:
        """The company's revenue, the standard field an org without our fields plans potential by."""
        return None if self.potential is None else round(self.potential * 40.0, -3)

    @property
    def street(self) -> str:
        """A street address, so compound addresses look like real ones."""
        return f"{100 + self.index % 9800} {('Main', 'Oak', 'Market', 'Commerce', 'Park')[self.index % 5]} St"


@dataclass(frozen=True, slots=True)
class SeedActivity:
    """A past visit (Event/meeting) or call (Task/call) at an account."""

    index: int
    account_index: int
    owner_index: int
    kind: ActivityKind
    subject: str
    start: datetime
    end: datetime
    completed: bool
    modified_at: datetime


class DealStage(StrEnum):
    """Salesforce's default Opportunity stages (HubSpot's deal stages map onto them)."""

    PROSPECTING = "Prospecting"
    QUALIFICATION = "Qualification"
    NEEDS_ANALYSIS = "Needs Analysis"
    PROPOSAL = "Proposal/Price Quote"
    NEGOTIATION = "Negotiation/Review"
    CLOSED_WON = "Closed Won"
    CLOSED_LOST = "Closed Lost"

    @property
    def is_closed(self) -> bool:
        return self in (DealStage.CLOSED_WON, DealStage.CLOSED_LOST)

    @property
    def is_won(self) -> bool:
        return self is DealStage.CLOSED_WON


OPEN_STAGES: tuple[DealStage, ...] = tuple(s for s in DealStage if not s.is_closed)


@dataclass(frozen=True, slots=True)
class SeedOpportunity:
    """A deal at an account: open pipeline, or won or lost in the past year."""

    index: int
    account_index: int
    owner_index: int
    name: str
    amount: float
    stage: DealStage
    close_date: date
    created_at: datetime
    modified_at: datetime

    @property
    def close_date_time(self) -> datetime:
        """The close date at midnight UTC (how HubSpot stores a deal's `closedate`)."""
        return datetime(self.close_date.year, self.close_date.month, self.close_date.day, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SeedContact:
    """A person at an account: the buyer or site contact a rep visits."""

    index: int
    account_index: int
    owner_index: int
    first_name: str
    last_name: str
    email: str
    phone: str
    title: str
    created_at: datetime
    modified_at: datetime

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True, slots=True)
class SeedOrg:
    """A whole org: its people, accounts, a year of activity and its deals, all as of `as_of`."""

    seed: int
    as_of: datetime
    users: tuple[SeedUser, ...]
    accounts: tuple[SeedAccount, ...]
    activities: tuple[SeedActivity, ...]
    opportunities: tuple[SeedOpportunity, ...] = ()
    contacts: tuple[SeedContact, ...] = ()

    @property
    def reps(self) -> tuple[SeedUser, ...]:
        """The field reps (active or not): the users with the Field Sales profile."""
        return tuple(u for u in self.users if u.is_field_rep)

    @property
    def field_team(self) -> tuple[SeedUser, ...]:
        """The active field reps: who the team file lists."""
        return tuple(u for u in self.users if u.is_field_rep and u.active)

    @property
    def integration_user(self) -> SeedUser | None:
        return next((u for u in self.users if u.profile is Profile.INTEGRATION), None)
