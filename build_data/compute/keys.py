"""Every metric key a universe yields, with its unit and label, from the catalog and the config
alone: nothing is fetched or computed, so `build_data list` answers at once."""
from __future__ import annotations

from build_data.config import Universe


def metric_keys(universe: Universe) -> dict[str, tuple[str, str]]:
    """{key: (unit, label)} for every key a build of this universe writes into metrics.json."""
    from build_data.compute.catalog import entries

    return {k: (e.spec.unit, e.label) for k, e in sorted(entries(universe).items())}
