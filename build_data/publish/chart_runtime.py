"""The chart runtime (Vega alone) that the site serves itself, never from a CDN.

Charts are compiled from Vega-Lite to Vega at build time (`compile_to_vega`, vl-convert, with the
Vega-Lite version the pinned Altair writes), so the browser needs neither the Vega-Lite compiler
nor vega-embed: only Vega, about 177 KB gzip instead of 305 KB for the three.

The runtime is Vega's own minified build from npm (`vega` pinned in package.json, installed by
`npm ci`, see the Makefile), at the Vega version vl-convert compiles for. vl-convert can bundle
Vega too, but not on its own: its `vega` export is empty unless vega-embed and Vega-Lite come
along. The render stage wraps the build as an ES module into docs/generated/vendor/;
macros/theme/assets/charts.js imports it once per visit, when a chart is about to be seen or touched.

    python -m build_data.publish.chart_runtime [DIR]    # write the bundle (default: the default site's output/vendor)
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from build_data.errors import BuildError

ROOT = Path(__file__).resolve().parents[2]
# Where `npm ci` put the pinned packages (package.json at the repository root).
NODE_MODULES = Path(os.environ.get("NODE_MODULES", ROOT / "node_modules"))

from build_data.publish.contract import VENDOR_BUNDLE

# The file name macros/theme/assets/charts.js and the pages (through the snapshot contract) expect.
BUNDLE_NAME = VENDOR_BUNDLE.rsplit("/", 1)[1]

# Vega's UMD build, run as the CommonJS branch inside an ES module: `const { vega } = await
# import(".../vega-bundle.js")`, and nothing leaks into the page's global scope.
_WRAP_HEAD = "var module = { exports: {} }, exports = module.exports;\n"
_WRAP_TAIL = "\nconst vega = module.exports;\nexport { vega };\n"


def vegalite_version() -> str:
    """The Vega-Lite minor version Altair writes ("6.4" for schema v6.4.1), as vl-convert names it."""
    import altair
    import vl_convert

    major, minor = altair.SCHEMA_VERSION.lstrip("v").split(".")[:2]
    wanted = f"{major}.{minor}"
    if wanted not in vl_convert.get_vegalite_versions():
        raise RuntimeError(
            f"vl-convert {vl_convert.__version__} has no Vega-Lite {wanted} "
            f"(Altair {altair.__version__} writes {altair.SCHEMA_VERSION}); "
            f"it has {', '.join(vl_convert.get_vegalite_versions())}"
        )
    return wanted


def compile_to_vega(spec: dict) -> dict:
    """A Vega-Lite spec compiled to Vega, as the browser would have compiled it.

    The background is left to the page (charts.js sets it transparent, and the palette's colours
    come in as Vega config at draw time)."""
    import vl_convert

    vega = vl_convert.vegalite_to_vega(spec, vl_version=vegalite_version())
    vega.pop("background", None)
    _fix_voronoi_tooltips(vega)
    return vega


# A mark's field as Vega-Lite writes it into a tooltip: `datum["date"]`, not already `datum.datum[...]`.
_FIELD = re.compile(r'(?<![.\w])datum\[')


def _fix_voronoi_tooltips(node) -> None:
    """Vega-Lite copies a mark's tooltip onto the Voronoi cells of a `nearest` selection, but the
    cells' datum is the point's scene item: some fields read `datum["x"]` where the value is at
    `datum.datum["x"]` (a date would show as "undefined"). Every field of a cell's tooltip is read
    from the point's data."""
    if isinstance(node, dict):
        update = (node.get("encode") or {}).get("update") or {}
        if node.get("type") == "path" and (update.get("isVoronoi") or {}).get("value") and "tooltip" in update:
            update["tooltip"]["signal"] = _FIELD.sub("datum.datum[", update["tooltip"]["signal"])
        for v in node.values():
            _fix_voronoi_tooltips(v)
    elif isinstance(node, list):
        for v in node:
            _fix_voronoi_tooltips(v)


def vega_build() -> tuple[str, str]:
    """(version, minified JavaScript) of the npm-installed Vega; it must be the version vl-convert
    compiles for, or compiled specs and runtime could disagree."""
    import vl_convert

    pkg, build = NODE_MODULES / "vega" / "package.json", NODE_MODULES / "vega" / "build" / "vega.min.js"
    hint = "run `make node_modules/.installed` (npm ci, versions pinned in package.json)"
    try:
        version = json.loads(pkg.read_text(encoding="utf-8"))["version"]
        text = build.read_text(encoding="utf-8")
    except (OSError, ValueError, KeyError):
        raise BuildError(f"the chart runtime {build} is missing; {hint}") from None
    wanted = vl_convert.get_vega_version()
    if version != wanted:
        raise BuildError(f"{pkg}: vega {version}, but vl-convert {vl_convert.__version__} compiles for "
                         f"vega {wanted}; pin vega {wanted} in package.json and {hint}")
    return version, text


def chart_js_bundle() -> dict[str, str]:
    """{relative file name: JavaScript text} for the chart runtime, version-matched to the specs."""
    version, text = vega_build()
    header = (
        f"/* vega {version} (build/vega.min.js from npm), the runtime of Vega-Lite {vegalite_version()} specs "
        "compiled at build time. BSD-3-Clause licensed (https://github.com/vega). "
        "Generated file: do not edit or commit. */\n"
    )
    return {BUNDLE_NAME: header + _WRAP_HEAD + text + _WRAP_TAIL}


def write_bundle(directory: Path) -> list[Path]:
    """Write chart_js_bundle() into `directory` (for tests and local previews)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in chart_js_bundle().items():
        path = directory / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)  # atomic: a half-written bundle is never served
        written.append(path)
    return written


if __name__ == "__main__":
    from build_data import site

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else site.load().out / "vendor"
    for p in write_bundle(target):
        print(f"wrote {p} ({p.stat().st_size:,} bytes)", file=sys.stderr)
