"""`.env.example` documents every setting, and nothing that is not one."""

from __future__ import annotations

import re
from pathlib import Path

from sync.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_env_example_lists_every_setting_with_a_comment() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    documented = {}
    for i, line in enumerate(lines):
        m = re.match(r"^([A-Z][A-Z0-9_]*)=", line)
        if m:
            documented[m.group(1)] = lines[i - 1]
    expected = {name.upper() for name in Settings.model_fields}
    assert set(documented) == expected
    assert all(comment.startswith("# ") for comment in documented.values())


def test_env_example_is_the_generated_one() -> None:
    from sync.config_table import env_example

    assert (ROOT / ".env.example").read_text() == env_example(), "regenerate: python -m sync.config_table env"


def test_the_configuration_page_is_generated_from_the_settings() -> None:
    from sync.config_table import configuration_table

    readme = (ROOT / "docs" / "configuration.md").read_text()
    assert configuration_table() in readme, "regenerate it: python -m sync.config_table"
