"""The plan pages and the `tsync map` file: Jinja2 templates (autoescaped) and one JSON data island.

The web pages load Leaflet, `plan.css` and `plan.js` from the app (CSP 'self', no
inline script). The map file is the same body with those inlined, so it opens from
file://; its inline scripts are ours alone (allowed by hash in a meta CSP), and CRM
text is only ever inside the data island, which the browser never runs.
"""

from __future__ import annotations

import base64
import importlib.resources
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from sync.views import PALETTE, PlanView, balance_rows, counts_summary, dimension_rows
from sync.web.formats import share
from sync.web.pages import TEMPLATES
from sync.web.plan_map import MapData, map_data
from sync.web.security import csp_hash

STATIC = "/static"
LEAFLET_PREFIX = STATIC + "/leaflet"


@dataclass(frozen=True)
class Assets:
    leaflet_js: str
    leaflet_css: str  # its images as data: URIs (the layer icon must not be a 404, here or in a file)
    plan_js: str
    plan_css: str


@lru_cache(maxsize=1)
def assets() -> Assets:
    folder = importlib.resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet"
    css = (folder / "leaflet.css").read_text()
    for image in ("layers-2x.png", "layers.png", "marker-icon.png"):
        uri = "data:image/png;base64," + base64.b64encode((folder / "images" / image).read_bytes()).decode()
        css = css.replace(f"url(images/{image})", f"url({uri})")
    static = importlib.resources.files("sync.web") / "static"
    swatches = "".join(f".sw-{i}{{background:{c}}}" for i, c in enumerate(PALETTE))
    return Assets(
        (folder / "leaflet.js").read_text(),
        css,
        (static / "plan.js").read_text(),
        (static / "plan.css").read_text() + swatches + "\n",
    )


def data_island(data: MapData) -> Markup:
    """The map's data as JSON safe inside <script type="application/json"> (<, >, &, ' escaped)."""
    return htmlsafe_json_dumps(data.model_dump(mode="json"))


def plan_context(view: PlanView, *, only_rep: str | None = None) -> dict[str, Any]:
    """What the plan templates show: the numbers come from the same rows, so they add up."""
    summary = view.plan_run.summary
    names = {a.id: a.name for a in view.accounts}
    book = len(view.accounts)
    moves = view.moves
    unplaced = [
        (rep_id, names.get(u.account_id, u.account_id), u)
        for rep_id, coverage in sorted(summary.coverage.items())
        for u in coverage.unplannable
        if only_rep in (None, rep_id)
    ]
    return {
        "view": view,
        "counts": counts_summary,
        "summary": summary,
        "book": book,
        "located": sum(1 for a in view.accounts if a.located),
        "moves": moves,
        "moved_share": share(len(moves), book),
        "unassigned": sum(1 for a in view.accounts if a.rep_id is None),
        "balance": balance_rows(view),
        "dimensions": dimension_rows(view),
        "unplaced": unplaced,
        "island": data_island(map_data(view, only_rep=only_rep)),
    }


def render(template: str, **context: Any) -> str:
    return TEMPLATES.get_template(template).render(**context)


def map_file_html(view: PlanView) -> str:
    """`tsync map`: the plan page as one self-contained file (Leaflet and the script inlined)."""
    a = assets()
    scripts = (a.leaflet_js, a.plan_js)
    csp = (
        "default-src 'none'; script-src "
        + " ".join(csp_hash(s) for s in scripts)
        + "; style-src 'unsafe-inline'; img-src data: https://tile.openstreetmap.org; base-uri 'none'"
    )
    return render("plan_file.html", csp=csp, assets=a, web=False, **plan_context(view))


def write_map_file(view: PlanView, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(map_file_html(view), encoding="utf-8")
    return path
