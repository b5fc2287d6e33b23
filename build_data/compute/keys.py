"""Every metric key a universe yields, with its unit and label, from the catalog's key patterns
and the config alone: nothing is fetched or computed, so `build_data list` answers at once."""
from __future__ import annotations

from build_data.config import Universe


def metric_keys(universe: Universe) -> dict[str, tuple[str, str]]:
    """{key: (unit, label)} for every key a build of this universe writes into metrics.json."""
    from build_data.compute.catalog import reference_rows

    symbols = {a: s.name for a, s in universe.symbols.items()}
    # Each pattern's placeholder and what it stands for: {placeholder value: display name}.
    expand = {
        "symbol": ("X", symbols),
        "volume": ("X", {a: symbols[a] for a in universe.volume_symbols}),
        "pair": ("A_vs_B", {k: f"{symbols[p.a]} vs {symbols[p.b]}" for k, p in universe.pairs.items()}),
        "levels": ("NAME", {k: v.label for k, v in universe.levels.items.items()}),
        "targets": ("NAME", {k: v.label for k, v in universe.targets.items.items()}),
        "macro": ("SERIES", {a: m.name for a, m in universe.macro.items()}),
    }
    out = {}
    for row in reference_rows():
        holder, names = expand.get(row["group"], (None, {}))
        if holder is None or holder not in row["pattern"]:
            out[row["pattern"]] = (row["unit"], row["label"].format(name=""))
            continue
        for value, name in names.items():
            # A macro series' latest value keeps the series' own unit.
            unit = universe.macro[value].unit if row["unit"] == "native" else row["unit"]
            out[row["pattern"].replace(holder, value, 1)] = (unit, row["label"].format(name=name))
    return dict(sorted(out.items()))
