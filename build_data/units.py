"""Unit names, defined once: the metric catalog, the config models, the snapshot contract, the
formatters and the signal checks all import them from here. Plain Python (no pandas, no
pydantic), so `build_data list` and the page macros can read it at no cost."""
from __future__ import annotations

# What a metric's value is counted in: the unit of every value in metrics.json.
METRIC_UNITS = ("fraction", "percent", "percent_range", "price", "index", "count", "ratio", "multiple", "sessions",
                "usd_bn", "date", "bool", "label", "text")
# Units a comparison with a number applies to (claims, watch items).
NUMERIC_UNITS = frozenset({"fraction", "percent", "price", "index", "count", "ratio", "sessions"})
# What a symbol's close is counted in (config `symbols.X.unit`): index points or US dollars.
PRICE_UNITS = ("points", "usd")
# What a macro series is counted in (config `macro.X.unit`).
MACRO_UNITS = ("count", "percent", "index")
# What a sourced fact's value is counted in (facts.yml).
FACT_UNITS = ("fraction", "percent", "usd_bn", "multiple", "count", "index", "price", "text")
# Placeholder for "the unit of the macro series itself" in the catalog's pattern rows.
NATIVE = "native"

assert NUMERIC_UNITS <= set(METRIC_UNITS) and set(MACRO_UNITS) <= set(METRIC_UNITS)
assert set(FACT_UNITS) <= set(METRIC_UNITS)
