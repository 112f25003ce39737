"""Settings: defaults give the embedded mode, bad values fail in one line, secrets stay secret."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from sync.settings import SettingsError, load_settings


def test_defaults_are_the_embedded_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for var in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"):
        monkeypatch.delenv(var, raising=False)
    settings = load_settings()
    assert settings.database_url == "sqlite:///./territory-sync.db"
    assert settings.embedded
    assert not settings.salesforce_configured and not settings.hubspot_configured


def test_a_bad_database_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "nonsense")
    with pytest.raises(SettingsError) as exc:
        load_settings()
    message = str(exc.value)
    assert "DATABASE_URL" in message and "\n" not in message


def test_the_cli_reports_a_bad_setting_in_one_line_without_a_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sync", "db", "upgrade"],
        env={"DATABASE_URL": "nonsense", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "DATABASE_URL" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("var", "value"),
    [("TIMEZONE", "Mars/Olympus"), ("NIGHTLY_AT", "25:99"), ("CELERY_BROKER_URL", "http://x")],
)
def test_other_malformed_settings_name_their_variable(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError, match=var):
        load_settings()


def test_secrets_never_show_in_repr_errors_or_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "pat-na1-verysecret"
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", secret)
    monkeypatch.setenv("SALESFORCE_PASSWORD", secret)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://app:{secret}@db/ts")
    settings = load_settings()
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("territory_sync").info("settings: %s %r", settings, settings)
    assert secret not in repr(settings)
    dumped = settings.model_dump()
    assert secret not in str(dumped["hubspot_access_token"])
    assert secret not in str(dumped["salesforce_password"])
    assert secret not in caplog.text
    assert secret not in settings.safe_database_url()
    monkeypatch.setenv("TIMEZONE", "nowhere")
    with pytest.raises(SettingsError) as exc:
        load_settings()
    assert secret not in str(exc.value)


def test_two_orgs_cannot_share_an_id_and_an_id_is_a_plain_name() -> None:
    with pytest.raises(SettingsError, match="SALESFORCE_ORG_KEY and HUBSPOT_ORG_KEY must differ"):
        load_settings(salesforce_org_key="acme", hubspot_org_key="acme")
    with pytest.raises(SettingsError, match="HUBSPOT_ORG_KEY: expected 1-64 letters"):
        load_settings(hubspot_org_key="../etc")
