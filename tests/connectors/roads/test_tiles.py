"""Valhalla tiles built from an OSM extract, swapped in whole, and the version caches key on."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.roads import TilesError, build_tiles, helsinki_extract, read_manifest, tiles_version
from connectors.roads.tiles import MANIFEST, tile_files


def test_tiles_are_built_from_an_extract_with_a_manifest_of_their_source(tmp_path: Path) -> None:
    tiles = tmp_path / "tiles"

    manifest = build_tiles(helsinki_extract(), tiles)

    assert manifest.source == "Helsinki.osm.pbf" and manifest.source_bytes > 100_000
    assert manifest.tiles == len(tile_files(tiles)) >= 1
    assert read_manifest(tiles) == manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiles"]  # no staging or scratch left behind


def test_a_rebuild_replaces_the_tiles_and_changes_their_version(tmp_path: Path) -> None:
    tiles = tmp_path / "tiles"
    build_tiles(helsinki_extract(), tiles)
    before = tiles_version(tiles)
    (tiles / "stale.gph").write_bytes(b"left over from another extract")

    build_tiles(helsinki_extract(), tiles)

    assert tiles_version(tiles) != before
    assert not (tiles / "stale.gph").exists()


def test_a_failed_build_leaves_the_old_tiles_answering(tmp_path: Path) -> None:
    tiles = tmp_path / "tiles"
    build_tiles(helsinki_extract(), tiles)
    before = tiles_version(tiles)
    garbage = tmp_path / "broken.osm.pbf"
    garbage.write_bytes(b"this is not a protobuf")

    with pytest.raises(TilesError, match=r"broken\.osm\.pbf"):
        build_tiles(garbage, tiles)

    assert tiles_version(tiles) == before
    assert (tiles / MANIFEST).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.osm.pbf", "tiles"]


def test_a_directory_of_other_files_is_never_replaced(tmp_path: Path) -> None:
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")

    with pytest.raises(TilesError, match="refusing to replace it"):
        build_tiles(helsinki_extract(), precious)

    assert (precious / "thesis.tex").read_text() == "years of work"


def test_a_missing_extract_is_named(tmp_path: Path) -> None:
    with pytest.raises(TilesError, match=r"no OSM extract at .*nowhere\.osm\.pbf"):
        build_tiles(tmp_path / "nowhere.osm.pbf", tmp_path / "tiles")
