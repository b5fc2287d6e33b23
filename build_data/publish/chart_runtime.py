"""The chart runtime (vega, vega-lite, vega-embed) that the site serves itself, never from a CDN.

vl-convert ships these libraries and bundles them without npm. The Vega-Lite version is the
one the pinned Altair writes, so specs and runtime match. The render stage writes the result
into docs/generated/vendor/; docs/assets/charts.js imports it only on pages with charts.

    python -m build_data.publish.chart_runtime [DIR]    # write the bundle (default docs/generated/vendor)
"""

from __future__ import annotations

import sys
from pathlib import Path

from build_data.publish.contract import VENDOR_BUNDLE

# The file name docs/assets/charts.js and the pages (through the snapshot contract) expect.
BUNDLE_NAME = VENDOR_BUNDLE.rsplit("/", 1)[1]

# An ES module: `const {default: vegaEmbed} = await import(".../vega-bundle.js")`.
# Exports instead of window globals, so nothing leaks into the page's global scope.
_SNIPPET = "export { vegaEmbed as default, vegaEmbed, vegaLite, vega };"


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


def chart_js_bundle() -> dict[str, str]:
    """{relative file name: JavaScript text} for the chart runtime, version-matched to Altair."""
    import vl_convert

    vl = vegalite_version()
    header = (
        f"/* vega {vl_convert.get_vega_version()}, vega-lite {vl}, vega-embed "
        f"{vl_convert.get_vega_embed_version()}, bundled by vl-convert {vl_convert.__version__}. "
        "BSD-3-Clause licensed (https://github.com/vega). Generated file: do not edit or commit. */\n"
    )
    return {BUNDLE_NAME: header + vl_convert.javascript_bundle(snippet=_SNIPPET, vl_version=vl)}


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
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/generated/vendor")
    for p in write_bundle(target):
        print(f"wrote {p} ({p.stat().st_size:,} bytes)", file=sys.stderr)
