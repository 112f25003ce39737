"""Choosing the routing engine: settings that name what is missing, `tsync roads build`, the start check."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.roads import helsinki_extract, read_manifest, tiles_version
from sync.cli import app
from sync.settings import SettingsError, get_settings, load_settings


@pytest.mark.parametrize(
    ("engine", "missing"),
    [("valhalla-local", "VALHALLA_TILES"), ("valhalla", "ROUTING_URL"), ("osrm", "ROUTING_URL")],
)
def test_an_engine_without_its_data_is_refused_in_one_line_naming_the_setting(
    engine: str, missing: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(routing_engine=engine)

    message = str(refused.value)
    assert missing in message and f"ROUTING_ENGINE={engine}" in message and "\n" not in message


def test_an_unknown_engine_is_refused_with_the_ones_there_are() -> None:
    with pytest.raises(SettingsError, match=r"ROUTING_ENGINE.*valhalla-local"):
        load_settings(routing_engine="google")


def test_the_old_osrm_url_still_plans_on_that_osrm_server() -> None:
    settings = load_settings(osrm_url="http://osrm.internal:5000")

    assert (settings.routing_engine, settings.routing_url) == ("osrm", "http://osrm.internal:5000")


def test_tsync_roads_build_prints_the_tiles_version_the_cache_keys_on(tmp_path: Path) -> None:
    tiles = tmp_path / "tiles"
    result = CliRunner().invoke(
        app, ["roads", "build", "--pbf", str(helsinki_extract()), "--tiles", str(tiles)]
    )

    assert result.exit_code == 0, result.output
    assert f"tiles version {tiles_version(tiles)}" in result.output
    manifest = read_manifest(tiles)
    assert manifest is not None and f"{manifest.tiles} tiles from Helsinki.osm.pbf" in result.output


def test_tsync_roads_build_without_an_extract_says_so_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["roads", "build", "--pbf", str(tmp_path / "nope.pbf"), "--tiles", "t"])

    assert result.exit_code == 2
    assert "no OSM extract at" in result.output and "Traceback" not in result.output


def test_the_nightly_daemon_does_not_start_on_a_tiles_directory_with_no_tiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {
        "ROUTING_ENGINE": "valhalla-local",
        "VALHALLA_TILES": str(tmp_path / "empty"),
        "HUBSPOT_ACCESS_TOKEN": "pat-na1-test",
        "CELERY_BROKER_URL": "",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["run"])
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 2
    assert "ROUTING_ENGINE=valhalla-local" in result.output and "no Valhalla tiles" in result.output
