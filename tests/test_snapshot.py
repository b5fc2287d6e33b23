"""The snapshot contract end to end on offline sources: sample, csv, --as-of, and the golden file."""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from build_data.compute import catalog
from build_data.publish import snapshot
from build_data.errors import BuildError, ValidationError
from build_data.fetch.sources import sample
from tests.conftest import FIXED_NOW, build_snapshot, day, write_csv_folder

REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden" / "sample-2026-01-15.json"


def test_contract_top_level(sample_snapshot):
    s = sample_snapshot
    assert s["schema"] == 1 and s["data_mode"] == "sample"
    assert s["as_of"] == "2026-01-16"  # the last completed session at FIXED_NOW
    for key in ("built_at", "metrics", "claims", "watchlist", "facts", "series_status", "charts", "changes"):
        assert key in s
    rsi = s["metrics"]["rut.rsi_14"]
    assert set(rsi) >= {"value", "unit", "as_of", "source", "label"}
    assert rsi["source"] == "sample:^RUT" and rsi["unit"] == "index"


def test_every_catalog_key_is_finite_or_null_with_reason(sample_snapshot, universe):
    metrics = sample_snapshot["metrics"]
    expected = [f"{a}.{s.name}" for a in universe.symbols for s in catalog.SYMBOL]
    expected += [f"{a}.{s.name}" for a in universe.volume_symbols for s in catalog.VOLUME]
    expected += [f"{p}.{s.name}" for p in universe.pairs for s in catalog.PAIR]
    expected += [f"sectors.{s.name}" for s in catalog.SECTORS] + ["breadth.dispersion_1m"]
    expected += [f"levels.{k}{s.name}" for k in universe.levels for s in catalog.LEVEL]
    expected += [f"targets.{k}{s.name}" for k in universe.targets for s in catalog.TARGET]
    expected += [f"{a}.latest" for a in universe.macro] + ["claims.avg_4w", "cpi.yoy", "fed.range"]
    assert sorted(expected) == sorted(metrics)
    for key, entry in metrics.items():
        v = entry["value"]
        if v is None:
            assert entry["reason"], key
        elif isinstance(v, float):
            assert math.isfinite(v), key
    empty = {k for k, e in metrics.items() if e["value"] is None}
    # Only "no current streak" ranks may be empty on the sample.
    assert all(k.endswith("outperf_streak_rank") for k in empty), empty


def test_golden_snapshot(universe, facts):
    snap, _ = build_snapshot(universe, facts, source="sample", as_of=day("2026-01-15"))
    text = snapshot.to_json(snap)
    if os.environ.get("UPDATE_GOLDEN"):  # indented, so a change reads as a reviewable diff
        GOLDEN.write_text(json.dumps(json.loads(text), sort_keys=True, indent=1, ensure_ascii=False) + "\n")
    assert json.loads(text) == json.loads(GOLDEN.read_text()), \
        "sample snapshot changed; if on purpose, rerun with UPDATE_GOLDEN=1 and review the diff"


def test_as_of_uses_no_later_observation(universe, facts, tmp_path):
    """Metrics as of D are the same whether or not later data exists."""
    cut = day("2025-11-14")
    tickers = [s.ticker for s in universe.symbols.values()]
    series_ids = [m.series for m in universe.macro.values()]
    full = write_csv_folder(tmp_path / "full", sample.sample_prices(tickers, day("2026-01-16")),
                            sample.sample_macro(series_ids, day("2026-01-16")))
    short = write_csv_folder(tmp_path / "short", sample.sample_prices(tickers, cut), sample.sample_macro(series_ids, cut))
    with_future, _ = build_snapshot(universe, facts, source="csv", data_dir=full, as_of=cut)
    without, _ = build_snapshot(universe, facts, source="csv", data_dir=short, as_of=cut)
    assert with_future["as_of"] == without["as_of"] == "2025-11-14"
    assert with_future["metrics"] == without["metrics"]
    assert with_future["claims"] == without["claims"]
    assert with_future["watchlist"] == without["watchlist"]


def test_as_of_respects_release_lags(universe, facts):
    snap, _ = build_snapshot(universe, facts, source="sample", as_of=day("2026-01-12"))
    # December CPI (observation date 2025-12-01) came out on 2026-01-13: not yet public.
    assert snap["metrics"]["cpi.latest"]["as_of"] == "2025-11-01"
    # The claims week ending Saturday 2026-01-10 is published Thursday 2026-01-15.
    assert snap["metrics"]["claims.latest"]["as_of"] == "2026-01-03"
    later, _ = build_snapshot(universe, facts, source="sample", as_of=day("2026-01-15"))
    assert later["metrics"]["claims.latest"]["as_of"] == "2026-01-10"
    # Without FRED's real-time data CPI goes by its conservative rule (by the end of the
    # following month, never before the real release): December's counts from Jan 31.
    assert later["metrics"]["cpi.latest"]["as_of"] == "2025-11-01"
    feb, _ = build_snapshot(universe, facts, source="sample", as_of=day("2026-02-02"),
                            now=pd.Timestamp("2026-02-03 22:00", tz="UTC"))
    assert feb["metrics"]["cpi.latest"]["as_of"] == "2025-12-01"
    assert feb["metrics"]["cpi.latest"]["released"] == "2026-01-31"


def test_as_of_on_a_holiday_uses_the_previous_session(universe, facts):
    snap, _ = build_snapshot(universe, facts, source="sample", as_of=day("2026-01-19"),  # MLK Day
                             now=pd.Timestamp("2026-01-21 22:00", tz="UTC"))
    assert snap["as_of"] == "2026-01-16"


@pytest.mark.parametrize("as_of, message", [
    ("2026-01-17", "--as-of 2026-01-17 is in the future (the last completed session is 2026-01-16)"),
    ("1970-01-02", "--as-of 1970-01-02: outside the XNYS exchange calendar"),
])
def test_an_as_of_outside_the_calendar_is_a_one_line_error(universe, facts, as_of, message):
    with pytest.raises(BuildError, match=re.escape(message)):
        build_snapshot(universe, facts, source="sample", as_of=day(as_of))


def test_csv_missing_file_gives_null_metrics_with_reason(universe, facts, tmp_path):
    tickers = [s.ticker for s in universe.symbols.values() if s.ticker != "IWC"]
    folder = write_csv_folder(tmp_path, sample.sample_prices(tickers, day("2026-01-16")), {})
    snap, _ = build_snapshot(universe, facts, source="csv", data_dir=folder)
    assert snap["data_mode"] == "csv"
    entry = snap["metrics"]["iwc.ret_ytd"]
    assert entry["value"] is None and "no file IWC.csv" in entry["reason"]
    assert snap["metrics"]["iwc_vs_iwm.ret_ytd_spread"]["value"] is None
    assert snap["series_status"]["iwc"]["status"] == "missing"
    assert snap["metrics"]["rut.ret_ytd"]["value"] is not None
    assert snap["metrics"]["cpi.yoy"]["value"] is None  # no FRED files at all
    with pytest.raises(BuildError, match="--require-all"):
        build_snapshot(universe, facts, source="csv", data_dir=folder, require_all=True)


def test_csv_values_equal_the_files(universe, facts, tmp_path):
    prices = sample.sample_prices([s.ticker for s in universe.symbols.values()], day("2026-01-16"))
    folder = write_csv_folder(tmp_path, prices, {})
    snap, _ = build_snapshot(universe, facts, source="csv", data_dir=folder)
    rut = prices["^RUT"]["close"]
    assert snap["metrics"]["rut.close"]["value"] == pytest.approx(rut.iloc[-1])
    assert snap["metrics"]["rut.ret_ytd"]["value"] == pytest.approx(rut.iloc[-1] / rut.loc[:"2025-12-31"].iloc[-1] - 1)
    assert snap["metrics"]["rut.ret_1d"]["value"] == pytest.approx(rut.iloc[-1] / rut.iloc[-2] - 1)


def test_csv_bad_file_is_rejected_naming_series_and_rule(universe, facts, tmp_path):
    """A file that breaks a rule is not published; the other files' numbers are unaffected."""
    prices = sample.sample_prices([s.ticker for s in universe.symbols.values()], day("2026-01-16"))
    clean, _ = build_snapshot(universe, facts, source="csv", data_dir=write_csv_folder(tmp_path / "clean", prices, {}))
    bad = prices["IWM"].copy()
    bad.iloc[-5, bad.columns.get_loc("close")] = -1.0
    prices["IWM"] = bad
    folder = write_csv_folder(tmp_path / "bad", prices, {})
    snap, _ = build_snapshot(universe, facts, source="csv", data_dir=folder)
    status = snap["series_status"]["iwm"]
    assert status["status"] == "rejected" and "iwm (IWM): non-positive price" in status["reason"]
    assert snap["metrics"]["iwm.close"]["value"] is None
    assert "non-positive price" in snap["metrics"]["iwm.close"]["reason"]
    assert snap["metrics"]["rut.rsi_14"] == clean["metrics"]["rut.rsi_14"]
    with pytest.raises(BuildError, match=r"--require-all: .*iwm: iwm \(IWM\): non-positive price"):
        build_snapshot(universe, facts, source="csv", data_dir=folder, require_all=True)


def test_stale_series_is_not_published(universe, facts, tmp_path):
    prices = sample.sample_prices([s.ticker for s in universe.symbols.values()], day("2026-01-16"))
    prices["XLE"] = prices["XLE"].loc[:"2026-01-06"]
    folder = write_csv_folder(tmp_path, prices, {})
    snap, _ = build_snapshot(universe, facts, source="csv", data_dir=folder)
    assert snap["series_status"]["xle"]["status"] == "stale"
    assert snap["metrics"]["xle.close"]["value"] is None
    assert "stale" in snap["metrics"]["xle.close"]["reason"]


def test_json_is_sorted_rounded_and_has_no_nan(sample_snapshot):
    text = snapshot.to_json(sample_snapshot)
    assert "NaN" not in text and "Infinity" not in text
    loaded = json.loads(text)
    assert list(loaded) == sorted(loaded)


def test_claims_and_watchlist_follow_config(sample_snapshot, universe):
    claims, watch = sample_snapshot["claims"], sample_snapshot["watchlist"]
    assert set(claims) == set(universe.claims) and set(watch) == set(universe.watchlist)
    rsi = sample_snapshot["metrics"]["rut.rsi_14"]["value"]
    assert claims["overbought"]["holds"] == (rsi >= universe.thresholds.rsi_overbought)
    w = watch["rsi_overbought"]
    expected = "triggered" if rsi >= 70 else ("near" if abs(rsi - 70) <= 3 else "clear")
    assert w["status"] == expected
    assert all(v["status"] in {"clear", "near", "triggered", "unknown"} for v in watch.values())


def test_facts_carry_source_date_and_age(sample_snapshot):
    f = sample_snapshot["facts"]["record_2021"]
    assert f["value"] == 2442.74 and f["date"] == "2021-11-08" and f["source"]
    assert f["age_days"] == (pd.Timestamp("2026-01-16") - pd.Timestamp("2021-11-08")).days


@pytest.mark.parametrize("text, published", [
    ("no file IWC.csv in /tmp/pytest-7/x/clean-csv", "no file IWC.csv in x/clean-csv"),
    ("/home/runner/work/site/.cache/market-data/prices/IWM.csv: corrupt", "prices/IWM.csv: corrupt"),
    ("C:\\Users\\me\\data\\IWM.csv: bad date", "data/IWM.csv: bad date"),
    ("https://fred.stlouisfed.org/graph/fredgraph.csv?id=ICSA", "https://fred.stlouisfed.org/graph/fredgraph.csv?id=ICSA"),
    ("fed_lo/fed_hi, 1/14, S&P 500 / Nasdaq", "fed_lo/fed_hi, 1/14, S&P 500 / Nasdaq"),
])
def test_published_texts_carry_no_machine_paths(text, published):
    assert snapshot.without_machine_paths(text) == published


def test_one_contract_for_both_packages(sample_snapshot):
    """The units macros can format are the contract's units; a build's output passes the contract."""
    from build_data.publish import contract
    from build_data import formatting

    assert set(formatting.FORMATS) == contract.UNITS
    checked = contract.validate(json.loads(snapshot.to_json(sample_snapshot)))
    assert checked["tally"]["bear"] == {
        k: sum(1 for c in sample_snapshot["claims"].values() if c["page"] == "bear" and c["holds"] is v)
        for k, v in (("holds", True), ("fails", False), ("unknown", None))}
    spread = [c for c in checked["claims"].values() if c["metric"].endswith("_spread")]
    assert spread and all(c["fmt"] == "pp" for c in spread)


def test_the_writer_refuses_a_snapshot_that_breaks_the_contract(sample_snapshot):
    from build_data.publish import contract

    broken = json.loads(json.dumps(sample_snapshot))
    broken["metrics"]["rut.close"]["unit"] = "furlongs"
    with pytest.raises(contract.ContractError, match=r"metrics\.rut\.close\.unit"):
        snapshot.to_json(broken)


def test_a_stamped_snapshot_loads_without_pydantic_and_an_edited_one_is_checked_again(sample_snapshot, tmp_path):
    from build_data.publish import contract

    path = tmp_path / "metrics.json"
    path.write_text(snapshot.to_json(sample_snapshot))
    probe = ("import sys; from build_data.publish import contract; d = contract.load(sys.argv[1]); "
             "print(d['as_of'], 'pydantic' in sys.modules)")
    run = lambda: subprocess.run([sys.executable, "-c", probe, str(path)], cwd=REPO, capture_output=True, text=True)  # noqa: E731
    assert run().stdout.split() == [sample_snapshot["as_of"], "False"]  # the stamp matches: no second check
    data = json.loads(path.read_text())
    data["metrics"]["rut.close"]["unit"] = "furlongs"  # edited by hand: the stamp no longer matches
    path.write_text(json.dumps(data))
    assert "metrics.rut.close.unit" in run().stderr
    with pytest.raises(contract.ContractError, match=r"metrics\.rut\.close\.unit"):
        contract.load(path)
    data["metrics"]["rut.close"]["unit"] = "price"
    data[contract.STAMP] = contract.digest(data)
    path.write_text(json.dumps(data))
    assert contract.load(path) == data
