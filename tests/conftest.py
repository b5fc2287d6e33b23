"""Shared fixtures: the default universe, and snapshots built in-process from offline sources."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import settings

# No per-example deadline: speed is measured by `make bench`, never asserted by a timer in tests.
settings.register_profile("project", deadline=None)
settings.load_profile("project")

from build_data import config
from build_data.compute import keys
from build_data.build import build
from build_data.fetch.gather import Options

# A fixed "now" keeps sample builds reproducible: Friday 2026-01-16, after the close.
FIXED_NOW = pd.Timestamp("2026-01-16 22:00", tz="UTC")


@pytest.fixture(scope="session")
def universe() -> config.Universe:
    return keys.load_universe()


@pytest.fixture(scope="session")
def facts() -> config.Facts:
    return config.load_facts()


def build_snapshot(universe, facts, **options):
    options.setdefault("now", FIXED_NOW)
    snap, charts = build(Options(**options), universe, facts, log=lambda _m: None)
    return snap, charts


@pytest.fixture(scope="session")
def sample_snapshot(universe, facts):
    snap, _ = build_snapshot(universe, facts, source="sample")
    return snap


def write_csv_folder(folder, prices: dict[str, pd.DataFrame], macro: dict[str, pd.Series]):
    """Write frames in Yahoo's and FRED's own CSV layouts, as a user's export would be."""
    folder.mkdir(parents=True, exist_ok=True)
    for ticker, f in prices.items():
        out = f.rename(columns={"open": "Open", "high": "High", "low": "Low", "close": "Close",
                                "adj_close": "Adj Close", "volume": "Volume"})
        out.to_csv(folder / f"{ticker}.csv", index_label="Date", date_format="%Y-%m-%d")
    for sid, s in macro.items():
        s.rename(sid).to_csv(folder / f"{sid}.csv", index_label="observation_date", date_format="%Y-%m-%d")
    return folder


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
