"""The site config's JSON Schema, from the pydantic models in config.py, and the reference rows
the authoring page shows (written into the snapshot, so the macro only lays them out).

    python -m build_data schema            # print it
    python -m build_data schema --write    # (re)write build_data/site-config.schema.json

universe.yml (and a site's site.yml) names the file on its first line,
`# yaml-language-server: $schema=site-config.schema.json`, so editors that use the YAML
language server (VS Code and others) complete and check the config while it is typed.
"""
from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from build_data.config import PACKAGE_DIR, Universe

SCHEMA_FILE = PACKAGE_DIR / "site-config.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"

# What each top-level section is for, where the model's own field carries no description.
SECTION_HELP = {
    "calendar": "The exchange calendar whose sessions the data follows (an exchange_calendars name, e.g. XNYS).",
    "history_start": "The first fetch pulls history from this date (YYYY-MM-DD).",
    "symbols": "Every instrument the site tracks: alias -> ticker, name, optional short label and unit.",
    "derived": "Series computed from two symbols (a ratio or a spread); each gets every per-symbol metric.",
    "sectors": "Symbol aliases of the sector basket (sector_table, sector metrics).",
    "breadth_basket": "Symbol aliases whose 1-month returns the dispersion metric is measured across.",
    "volume_symbols": "Symbol aliases whose volume is meaningful (funds, not indexes).",
    "pairs": "Pairs of symbols compared on returns and streaks: name -> {a, b}.",
    "macro": "Economic series from FRED: alias -> series id, name, unit, release lag.",
    "ranges": "A range published as two macro series (a lower and an upper bound), shown as one metric.",
    "validation": "When fetched data counts as bad: the largest daily move, staleness, revisions.",
    "publish": "What the scheduled deploy may publish (fail closed).",
    "thresholds": "Site-wide thresholds: RSI overbought/oversold, the watchlist's near band.",
    "levels": "Author-defined price levels, each on one symbol.",
    "targets": "Analyst targets: price levels with their source and date.",
    "charts": "The charts the build draws, in order.",
    "claims": "Arguments in the prose, checked against metrics: each holds or not at every build.",
    "watchlist": "Catalysts and risks: clear, near or triggered against a threshold.",
}


def site_schema(model: type[BaseModel] = Universe) -> dict:
    """The JSON Schema of the site config, with a description on every top-level section."""
    schema = model.model_json_schema()
    for name, prop in schema.get("properties", {}).items():
        if name in SECTION_HELP and "description" not in prop:
            prop["description"] = SECTION_HELP[name]
    return {"$schema": DIALECT, **schema, "title": "Site config",
            "description": "A microsite's config (build_data/universe.yml for the default site, site.yml "
                           "in a site folder): what it tracks, its claims, watch items and charts."}


def schema_text() -> str:
    """The schema file's text (stable: the drift test compares it byte for byte)."""
    return json.dumps(site_schema(), indent=1, ensure_ascii=False) + "\n"


def write(path: Path = SCHEMA_FILE) -> Path:
    path.write_text(schema_text(), encoding="utf-8")
    return path


# ------------------------------------------------------------------ the reference table


def _resolve(schema: dict, node: dict) -> tuple[dict, str | None]:
    """(the node a $ref points to, its definition name), or the node itself."""
    ref = node.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        return schema["$defs"][name], name
    return node, None


def _type(schema: dict, node: dict) -> str:
    """A field's type for people: "number", "list of string", "map of Claim", "'>' | '<'"."""
    if "anyOf" in node:
        kinds = [_type(schema, n) for n in node["anyOf"] if n.get("type") != "null"]
        return " or ".join(kinds) or "null"
    if "$ref" in node:
        return node["$ref"].rsplit("/", 1)[-1]
    if "enum" in node:
        return " | ".join(json.dumps(v) for v in node["enum"])
    if "const" in node:
        return json.dumps(node["const"])
    kind = node.get("type")
    if kind == "array":
        return "list of " + _type(schema, node.get("items", {}))
    if kind == "object":
        values = node.get("additionalProperties")
        return "map of " + _type(schema, values) if isinstance(values, dict) else "mapping"
    if kind == "string" and node.get("format") == "date":
        return "date"
    return kind or "any"


def _inner(schema: dict, node: dict) -> tuple[dict | None, str]:
    """The model a field holds (directly, as map values or as list items), and the path step to it."""
    for option in node.get("anyOf", [node]):
        if "$ref" in option:
            return _resolve(schema, option)[0], ""
        if option.get("type") == "object" and isinstance(option.get("additionalProperties"), dict) \
                and "$ref" in option["additionalProperties"]:
            return _resolve(schema, option["additionalProperties"])[0], ".NAME"
        if option.get("type") == "array" and "$ref" in option.get("items", {}):
            return _resolve(schema, option["items"])[0], "[]"
    return None, ""


def _rows(schema: dict, model: dict, prefix: str, depth: int) -> list[dict[str, str]]:
    rows = []
    required = set(model.get("required", []))
    for name, node in model.get("properties", {}).items():
        field = f"{prefix}{name}"
        inner, step = _inner(schema, node)
        description = node.get("description") or (inner or {}).get("description") or ""
        default = "required" if name in required else json.dumps(node["default"]) if "default" in node else ""
        rows.append({"field": field, "type": _type(schema, node), "default": default,
                     "description": " ".join(description.split())})
        if inner is not None and depth < 3:
            rows += _rows(schema, inner, f"{field}{step}.", depth + 1)
    return rows


def reference_rows(model: type[BaseModel] = Universe) -> list[dict[str, str]]:
    """One row per config field, sections first and each section's fields under it: field path
    (NAME for an author's key, [] for a list item), type, default ("required" when it has none)
    and description. The authoring page's config_reference() lays these out."""
    schema = site_schema(model)
    return _rows(schema, schema, "", 0)
