"""Every metric key a universe yields, with its unit and label, from the catalog and the config
alone: nothing is fetched or computed, so `build_data list` answers at once (no pandas). Also the
check that the config's claims and watch items name keys the catalog has, with a comparison their
unit allows: it runs wherever a site config is loaded (`load_universe` here)."""
from __future__ import annotations

import difflib
from pathlib import Path

from build_data import config
from build_data.compute.catalog import entries, keys_for
from build_data.errors import ConfigError
from build_data.units import NUMERIC_UNITS


def metric_keys(universe: config.Universe) -> dict[str, tuple[str, str]]:
    """{key: (unit, label)} for every key a build of this universe writes into metrics.json."""
    return {k: (e.spec.unit, e.label) for k, e in sorted(entries(universe).items())}


def signal_problem(cond: config.Condition, keys: dict, watch: bool) -> str | None:
    """Why a condition cannot be checked against the catalog's keys, or None."""
    spec = keys.get(cond.metric)
    if spec is None:
        near = difflib.get_close_matches(cond.metric, keys, n=3, cutoff=0.5)
        return f"unknown metric key {cond.metric!r}" + (f"; closest: {', '.join(near)}" if near else "")
    if cond.op in ("true", "false"):
        if spec.unit != "bool":
            return f"op {cond.op!r} needs a yes/no metric; {cond.metric!r} is in unit {spec.unit!r}"
    elif spec.unit not in NUMERIC_UNITS:
        return f"op {cond.op!r} cannot compare {cond.metric!r} (unit {spec.unit!r}) with a number"
    if watch and spec.unit not in NUMERIC_UNITS:
        return f"watch items need a numeric metric; {cond.metric!r} is in unit {spec.unit!r}"
    return None


def check_signals(universe: config.Universe, path: Path | str | None = None) -> None:
    """Every claim and watch item names a catalog key, with a comparison its unit allows. Errors
    name `path`, else the file the universe was read from."""
    path = path or universe.path or "site config"
    keys = keys_for(universe)
    for section, items in (("claims", universe.claims), ("watchlist", universe.watchlist)):
        for item_id, item in items.items():
            for i, cond in enumerate(item.conditions):
                problem = signal_problem(cond, keys, watch=section == "watchlist")
                if problem:
                    where = f"{section}.{item_id}" + (f".{item.mode}[{i}]" if item.metric is None else "")
                    raise ConfigError(f"{path}: {where}: {problem}")


def load_universe(path: Path | str = config.DEFAULT_UNIVERSE, *, keys_only: bool = False) -> config.Universe:
    """The site config, validated field by field (`config.load_universe`) and against the metric
    catalog (`check_signals`): what every command and tool loads."""
    universe = config.load_universe(Path(path), keys_only=keys_only)
    check_signals(universe, path)
    return universe
