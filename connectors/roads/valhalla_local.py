"""`LocalValhalla`: Valhalla's router embedded through pyvalhalla over a local tiles directory.

No server runs: the router lives in this process (the `roads` extra). The
matrix limit is ours to set, since we write the router's configuration, so
blocks are larger than a public server allows (`max_pairs`). The matrix
algorithm is Valhalla's own choice for the costing (CostMatrix for cars), the
same a Valhalla server makes unless configured otherwise: its minutes do not
depend on how a matrix is cut into blocks (docs/roads.md says why the faster
TimeDistanceMatrix is not offered).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from connectors.roads.matrix import BlockLimit, Fallback, TravelError
from connectors.roads.tiles import INSTALL_HINT, builder_config, tiles_version
from connectors.roads.valhalla import ValhallaMatrix, ValhallaRefusal, refusal_code

DEFAULT_LOCAL_MAX_PAIRS = 40_000  # 200 x 200 per call: a few seconds on Helsinki's tiles


class LocalValhalla(ValhallaMatrix):
    """Drive minutes and km from Valhalla tiles in `tiles_dir`, routed in-process."""

    engine = "valhalla-local"

    def __init__(
        self,
        tiles_dir: str | Path,
        *,
        costing: str = "auto",
        max_pairs: int = DEFAULT_LOCAL_MAX_PAIRS,
        fallback: Fallback | None = None,
        max_snap_m: float = 2_000.0,
    ) -> None:
        super().__init__(
            profile=costing, limit=BlockLimit(max_pairs=max_pairs), fallback=fallback, max_snap_m=max_snap_m
        )
        self.tiles_dir = Path(tiles_dir).resolve()
        self._version = tiles_version(self.tiles_dir)  # raises when there are no tiles
        self._actor = _actor(self.tiles_dir, costing, max_pairs)

    def __repr__(self) -> str:
        return f"LocalValhalla({str(self.tiles_dir)!r}, costing={self.profile!r})"

    @property
    def data_version(self) -> str:
        return self._version

    @property
    def server(self) -> str:
        return f"the embedded Valhalla router over {self.tiles_dir}"

    def _call(self, action: str, request: dict[str, Any]) -> Any:
        send = {
            "sources_to_targets": self._actor.matrix,
            "locate": self._actor.locate,
            "route": self._actor.route,
        }[action]
        try:
            return send(request)
        except RuntimeError as exc:
            raise ValhallaRefusal(refusal_code(str(exc)), str(exc)) from None


def _actor(tiles_dir: Path, costing: str, max_pairs: int) -> Any:
    try:
        import valhalla
    except ImportError as exc:
        raise TravelError(f"valhalla-local needs the valhalla package: {INSTALL_HINT}") from exc
    config = builder_config(tiles_dir, threads=1)
    limits = config["service_limits"]
    assert isinstance(limits, dict)
    if costing not in limits:
        raise TravelError(f"Valhalla has no costing {costing!r} (try auto, truck, taxi, ...)")
    limits[costing]["max_matrix_location_pairs"] = max_pairs
    # The router reads its configuration once, at start: the file is needed only until then.
    fd, path = tempfile.mkstemp(prefix="tsync-valhalla-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(config, f)
        return valhalla.Actor(path)
    finally:
        os.unlink(path)
