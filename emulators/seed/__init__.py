"""Seeded orgs for the emulators: `generate_org(accounts, reps, seed=...)` and the team file.

The model (`SeedOrg`, `SeedUser`, `SeedAccount`, `SeedActivity`,
`SeedOpportunity`) is CRM-neutral; each emulator maps it to its own records.
See `generate.py` for what makes an org realistic and `team.py` for the
field team's facts and the team file.
"""

from emulators.seed.generate import default_as_of, generate_org
from emulators.seed.model import (
    INDUSTRIES,
    OPEN_STAGES,
    SKILLS,
    TIERS,
    UNKNOWN_TIERS,
    WEEKDAYS,
    DaysOff,
    DealStage,
    Defect,
    Profile,
    Role,
    SeedAccount,
    SeedActivity,
    SeedContact,
    SeedOpportunity,
    SeedOrg,
    SeedUser,
    Team,
)
from emulators.seed.team import TEAM_FILE_COLUMNS, write_team_file

__all__ = [
    "INDUSTRIES",
    "OPEN_STAGES",
    "SKILLS",
    "TEAM_FILE_COLUMNS",
    "TIERS",
    "UNKNOWN_TIERS",
    "WEEKDAYS",
    "DaysOff",
    "DealStage",
    "Defect",
    "Profile",
    "Role",
    "SeedAccount",
    "SeedActivity",
    "SeedContact",
    "SeedOpportunity",
    "SeedOrg",
    "SeedUser",
    "Team",
    "default_as_of",
    "generate_org",
    "write_team_file",
]
