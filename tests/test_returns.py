"""Returns named honestly: a fund counts total return from its adjusted closes, an index price
return from its quoted closes, every label says which, a pair never mixes the two without
saying so, and the 52-week window is exactly 52 weeks. Checked against hand computations on
tiny series, through the pipeline's own framing (`build.frame`) and metrics."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import yaml

from build_data import build, sessions
from build_data.compute import catalog, formulas, keys, values
from build_data.compute import metrics as m
from build_data.fetch.gather import Gathered
from build_data.fetch.sources import PRICE_COLUMNS, csv as csv_source, price_frame, sample

UNIVERSE = {
    "calendar": "XNYS",
    "history_start": "2025-01-01",
    "symbols": {
        "rut": {"ticker": "^RUT", "name": "Russell 2000", "short": "RUT"},
        "spx": {"ticker": "^GSPC", "name": "S&P 500", "short": "SPX"},
        "iwm": {"ticker": "IWM", "name": "iShares Russell 2000 ETF", "short": "IWM"},
        "iwc": {"ticker": "IWC", "name": "iShares Micro-Cap ETF", "short": "IWC"},
    },
    "pairs": {"rut_vs_spx": {"a": "rut", "b": "spx"}, "iwc_vs_iwm": {"a": "iwc", "b": "iwm"},
              "rut_vs_iwm": {"a": "rut", "b": "iwm"}},
    "validation": {"max_daily_move": 0.25, "max_stale_sessions": 3, "revision_tolerance": 0.02},
    "publish": {"max_stale_sessions": 3, "core": ["rut"]},
    "thresholds": {"rsi_overbought": 70, "rsi_oversold": 30, "near_band": 0.02},
}

# Eight sessions around the turn of the year. IWM goes ex-dividend on Jan 6 (0.50 a share, as
# Yahoo reports it after the split) and splits 2-for-1 on Jan 8; Yahoo's Close is split-adjusted
# (no -50% day), its Adj Close also takes the dividend out of every earlier close.
DAYS = pd.DatetimeIndex(["2025-12-30", "2025-12-31", "2026-01-02", "2026-01-05", "2026-01-06", "2026-01-07",
                         "2026-01-08", "2026-01-09"], name="date")
IWM_CLOSE = [50.0, 50.0, 50.5, 51.0, 50.25, 50.5, 50.75, 51.0]
DIVIDEND, EX_DAY = 0.5, 4              # Jan 6, the fifth session
DIV_FACTOR = 1 - DIVIDEND / IWM_CLOSE[EX_DAY - 1]   # 1 - 0.5 / 51
IWM_ADJ = [c * DIV_FACTOR if i < EX_DAY else c for i, c in enumerate(IWM_CLOSE)]
IWC_CLOSE = [20.0, 20.0, 20.2, 20.4, 20.5, 20.6, 20.4, 20.8]
IWC_ADJ = [c * 0.99 if i < 2 else c for i, c in enumerate(IWC_CLOSE)]   # ex-dividend Jan 2
RUT_CLOSE = [2400.0, 2410.0, 2420.0, 2430.0, 2425.0, 2440.0, 2450.0, 2460.0]
SPX_CLOSE = [6800.0, 6810.0, 6830.0, 6850.0, 6840.0, 6860.0, 6870.0, 6880.0]


def _frame(close, adj=None) -> pd.DataFrame:
    close = np.asarray(close, dtype="float64")
    adj = close if adj is None else np.asarray(adj, dtype="float64")
    return price_frame(pd.DataFrame({"open": close, "high": close, "low": close, "close": close,
                                     "adj_close": adj, "volume": 1e6}, index=DAYS[:len(close)])[PRICE_COLUMNS])


def _universe(tmp_path, **symbol_changes):
    raw = yaml.safe_load(yaml.safe_dump(UNIVERSE))
    for alias, change in symbol_changes.items():
        raw["symbols"][alias].update(change)
    path = tmp_path / "universe.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return keys.load_universe(path)


def _metrics(universe, prices: dict[str, pd.DataFrame]):
    as_of = max(f.index[-1] for f in prices.values()).date()
    got = Gathered(prices=prices, macro={}, status={}, sources={a: f"test:{a}" for a in prices},
                   as_of=as_of, data_mode="csv", mode_note="")
    data = build.frame(got, universe)
    return data, values.compute_metrics(data)


def _prices(**changes):
    out = {"rut": _frame(RUT_CLOSE), "spx": _frame(SPX_CLOSE), "iwm": _frame(IWM_CLOSE, IWM_ADJ),
           "iwc": _frame(IWC_CLOSE, IWC_ADJ)}
    return out | changes


def test_the_hand_series_are_on_the_exchange_calendar():
    assert list(sessions.sessions(DAYS[0].date(), DAYS[-1].date(), "XNYS")) == list(DAYS)


def test_a_fund_counts_total_return_from_adjusted_closes_by_hand(tmp_path):
    universe = _universe(tmp_path)
    _, out = _metrics(universe, _prices())
    # YTD base: Dec 31's close. Price: 51.00 / 50.00 - 1 = 2%. Total: the dividend of 0.50 paid on
    # Jan 6 reinvested: 51.00 / (50.00 * (1 - 0.5 / 51)) - 1 = 2601 / 2525 - 1 = 76 / 2525.
    assert out["iwm.ret_ytd"].value == pytest.approx(76 / 2525, abs=1e-12)
    assert out["iwm.ret_ytd"].value != pytest.approx(51.0 / 50.0 - 1, abs=1e-6)   # the measured shape
    assert out["iwm.ret_ytd"].label == "iShares Russell 2000 ETF YTD total return"
    assert out["iwm.ret_ytd"].basis == "total"
    # The ex-dividend day: price -1.47%, total return 50.25 / (51 * (1 - 0.5/51)) - 1 = 50.25 / 50.5 - 1.
    # The split day (Jan 8) is an ordinary day in both: Yahoo's closes are split-adjusted.
    one_day = values.history("iwm.ret_1d", values.Data(*_data_args(universe)))
    assert one_day.loc["2026-01-06"] == pytest.approx(50.25 / 50.5 - 1, abs=1e-12)
    assert one_day.loc["2026-01-08"] == pytest.approx(50.75 / 50.5 - 1, abs=1e-12)
    # What is not a return stays on the quoted close: the close itself, the record, the averages.
    assert out["iwm.close"].value == 51.0 and out["iwm.record_close"].value == 51.0
    assert out["iwm.close"].basis is None and "return" not in out["iwm.close"].label


def _data_args(universe):
    got = Gathered(prices=_prices(), macro={}, status={}, sources={}, as_of=DAYS[-1].date(), data_mode="csv",
                   mode_note="")
    d = build.frame(got, universe)
    return (d.closes[list(universe.symbols)], d.volumes, d.macro, universe, d.sources, d.missing, d.adj_closes)


def test_an_index_counts_price_return_whatever_its_adjusted_column_says(tmp_path):
    universe = _universe(tmp_path)
    odd = [c * 0.9 for c in RUT_CLOSE[:2]] + RUT_CLOSE[2:]   # a csv file with a stray Adj Close
    _, out = _metrics(universe, _prices(rut=_frame(RUT_CLOSE, odd)))
    assert out["rut.ret_ytd"].value == pytest.approx(2460 / 2410 - 1, abs=1e-12)
    assert out["rut.ret_ytd"].label == "Russell 2000 YTD price return"
    assert out["rut.ret_1d"].label == "Russell 2000 1-day price return"


def test_pairs_compare_like_with_like_and_a_mixed_pair_says_so(tmp_path):
    universe = _universe(tmp_path)
    _, out = _metrics(universe, _prices())
    iwc_total = 20.8 / (20.0 * 0.99) - 1  # IWC's base: Dec 31's adjusted close, before its Jan 2 dividend
    assert out["iwc.ret_ytd"].value == pytest.approx(iwc_total, abs=1e-12)
    gap = out["iwc_vs_iwm.ret_ytd_spread"]
    assert gap.value == pytest.approx(iwc_total - 76 / 2525, abs=1e-12)
    assert gap.label == "IWC vs IWM: YTD total return gap" and gap.basis == "total"
    spx = out["rut_vs_spx.ret_ytd_spread"]
    assert spx.value == pytest.approx((2460 / 2410 - 1) - (6880 / 6810 - 1), abs=1e-12)
    assert spx.label == "RUT vs SPX: YTD price return gap" and spx.basis == "price"
    mixed = out["rut_vs_iwm.ret_ytd_spread"]
    assert mixed.value == pytest.approx((2460 / 2410 - 1) - 76 / 2525, abs=1e-12)
    assert mixed.label == "RUT vs IWM: YTD return gap (price vs total return)" and mixed.basis == "mixed"
    assert out["rut_vs_iwm.outperf_streak"].label == "RUT vs IWM: outperformance streak (price vs total return)"
    # The ratio is of quoted closes, whatever the pair: it is no return and names none.
    assert out["iwc_vs_iwm.ratio"].value == pytest.approx(20.8 / 51.0) and out["iwc_vs_iwm.ratio"].basis is None


def test_the_outperformance_streak_reads_the_same_returns_as_the_gap(tmp_path):
    universe = _universe(tmp_path)
    _, out = _metrics(universe, _prices())
    # Daily total returns, IWC vs IWM, from the hand series: IWC beats IWM on Jan 9 (2.0% vs 0.49%)
    # and lost on Jan 8 (IWC -0.97%, IWM +0.50%): a streak of 1.
    assert out["iwc_vs_iwm.outperf_streak"].value == 1
    # As of Jan 6, IWM's ex-dividend day: its price fell 1.47%, its total return 0.50%. An IWC down
    # 1.00% that day beat IWM's price but not its total return: no streak (a price streak would be 1).
    iwc = IWC_CLOSE[:4] + [IWC_CLOSE[3] * 0.99]
    upto = {a: f.iloc[:5] for a, f in _prices().items()} | {"iwc": _frame(iwc, IWC_ADJ[:2] + iwc[2:])}
    _, out = _metrics(universe, upto)
    assert out["iwc_vs_iwm.outperf_streak"].value == 0
    assert out["iwc.ret_1d"].value == pytest.approx(-0.01) and out["iwm.ret_1d"].value == pytest.approx(50.25 / 50.5 - 1)


def test_config_can_ask_for_price_return(tmp_path):
    universe = _universe(tmp_path, iwm={"returns": "price"})
    _, out = _metrics(universe, _prices())
    assert out["iwm.ret_ytd"].value == pytest.approx(51.0 / 50.0 - 1, abs=1e-12)
    assert out["iwm.ret_ytd"].label == "iShares Russell 2000 ETF YTD price return"
    # IWC still counts total return: the pair now mixes, and says so.
    assert out["iwc_vs_iwm.ret_ytd_spread"].label == "IWC vs IWM: YTD return gap (price vs total return)"


def test_a_bad_returns_value_is_a_one_line_config_error(tmp_path):
    from build_data.errors import ConfigError
    with pytest.raises(ConfigError) as err:
        _universe(tmp_path, iwm={"returns": "totl"})
    assert "universe.yml" in str(err.value) and "returns" in str(err.value) and "\n" not in str(err.value)


def test_a_fund_without_adjusted_closes_counts_price_return_labelled_so(tmp_path):
    # A csv file with no Adj Close column: the source has no adjusted closes for it.
    (tmp_path / "IWM.csv").write_text("Date,Open,High,Low,Close,Volume\n" + "".join(
        f"{d.date()},{c},{c},{c},{c},1000\n" for d, c in zip(DAYS, IWM_CLOSE)))
    iwm = csv_source.read_price_file(tmp_path / "IWM.csv")
    universe = _universe(tmp_path)
    _, out = _metrics(universe, _prices(iwm=iwm))
    assert out["iwm.ret_ytd"].value == pytest.approx(51.0 / 50.0 - 1, abs=1e-12)
    assert out["iwm.ret_ytd"].label == "iShares Russell 2000 ETF YTD price return"
    assert out["iwc_vs_iwm.ret_ytd_spread"].label == "IWC vs IWM: YTD return gap (price vs total return)"
    # One missing adjusted close is enough: never a series of total returns with price days in it.
    holed = _frame(IWM_CLOSE, IWM_ADJ)
    holed.loc["2026-01-05", "adj_close"] = np.nan
    _, out = _metrics(universe, _prices(iwm=holed))
    assert out["iwm.ret_ytd"].basis == "price" and out["iwm.ret_ytd"].value == pytest.approx(0.02, abs=1e-12)


def test_sector_and_breadth_figures_read_the_funds_total_returns(tmp_path):
    raw_changes = {"sectors": ["iwm", "iwc"], "breadth_basket": ["iwm", "iwc"]}
    raw = yaml.safe_load(yaml.safe_dump(UNIVERSE)) | raw_changes
    (tmp_path / "universe.yml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    universe = keys.load_universe(tmp_path / "universe.yml")
    _, out = _metrics(universe, _prices())
    iwc_total = 20.8 / (20.0 * 0.99) - 1
    assert out["sectors.leader_ret_ytd"].value == pytest.approx(max(iwc_total, 76 / 2525), abs=1e-12)
    assert out["sectors.leader_ret_ytd"].label == "Sector leader's YTD total return"
    assert out["sectors.leader_ytd"].label == "Sector leader, YTD total return"
    assert out["breadth.dispersion_1m"].label == "Dispersion of 1-month total returns"


def test_a_basket_of_funds_and_indexes_says_it_mixes(tmp_path):
    raw = yaml.safe_load(yaml.safe_dump(UNIVERSE)) | {"sectors": ["iwm", "rut"]}
    (tmp_path / "universe.yml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    entries = catalog.entries(keys.load_universe(tmp_path / "universe.yml"))
    assert entries["sectors.leader_ytd"].label == "Sector leader, YTD return (price and total returns mixed)"


def test_every_return_in_the_catalog_names_its_basis():
    specs = [s for fam in catalog.FAMILIES.values() for s in fam]
    returns = [s for s in specs if "ret" in s.name or "return" in s.label or "streak" in s.name
               or s.name.startswith(("leader", "laggard", "positive", "dispersion"))]
    assert len(returns) >= 6 + 8 + 13 + 1 and all(s.basis for s in returns), [s.name for s in returns if not s.basis]
    # Volatility is no return figure: it reads the quoted closes, and says so.
    assert "price" in next(s for s in specs if s.name == "vol_20d").definition
    rows = {r["pattern"]: r for r in catalog.reference_rows()}
    assert rows["X.ret_ytd"]["label"] == "{name} YTD price/total return"
    assert "total return (adjusted closes" in rows["X.ret_ytd"]["definition"]
    assert "(price vs total return)" in rows["A_vs_B.ret_ytd_spread"]["definition"]


def test_the_default_site_compares_like_with_like(universe):
    entries = catalog.entries(universe)
    pairs = {k: e for k, e in entries.items() if e.family == "pair" and e.spec.name == "ret_ytd_spread"}
    assert pairs and {e.basis for e in pairs.values()} <= {"price", "total"}
    assert entries["rut_vs_spx.ret_ytd_spread"].basis == "price"
    assert entries["iwc_vs_iwm.ret_ytd_spread"].basis == "total"


# ------------------------------------------------------------------ the 52-week window

def test_the_52_week_window_is_exactly_52_weeks():
    assert catalog.WEEKS_52 == f"{m.WEEKS_52_DAYS}D" == "364D"
    days = sessions.sessions(dt.date(2025, 1, 2), dt.date(2026, 1, 16), "XNYS")
    close = pd.Series(100.0, index=days)
    as_of = pd.Timestamp("2026-01-16")                    # a Friday
    close[as_of - pd.Timedelta(days=364)] = 130.0         # Friday 2025-01-17: 52 weeks back, outside
    close[pd.Timestamp("2025-01-21")] = 120.0             # Tuesday, inside
    high = formulas.function("symbol", "high_52w")(close.to_frame("x"))["x"]
    assert high.loc[as_of] == 120.0
    assert formulas.function("symbol", "pct_from_high_52w")(close.to_frame("x"))["x"].loc[as_of] == \
        pytest.approx(100 / 120 - 1)
    # The window holds 52 Fridays, not 53.
    window = pd.date_range(as_of - pd.Timedelta(days=363), as_of)
    assert len(window) == 364 and (window.dayofweek == 4).sum() == 52
    # A day earlier the 130 close was still inside.
    assert high.loc[pd.Timestamp("2026-01-15")] == 130.0


def test_a_history_under_52_weeks_has_no_52_week_figure(tmp_path):
    universe = _universe(tmp_path)
    days = sessions.sessions(dt.date(2025, 1, 17), dt.date(2026, 1, 16), "XNYS")

    def frame(start):
        close = pd.Series(100.0, index=days).loc[start:]
        return price_frame(pd.DataFrame({c: close for c in PRICE_COLUMNS}))

    # The window of Friday 2026-01-16 opens Saturday 2025-01-18; its first session is Tuesday
    # 2025-01-21 (Monday was a holiday). A history from that session spans it; one a day later does not.
    got = Gathered(prices={"rut": frame("2025-01-21"), "spx": frame("2025-01-22")}, macro={}, status={},
                   sources={}, as_of=dt.date(2026, 1, 16), data_mode="csv", mode_note="")
    out = values.compute_metrics(build.frame(got, universe))
    assert out["rut.high_52w"].value == 100.0
    assert out["spx.high_52w"].value is None and "under 52 weeks" in out["spx.high_52w"].reason


def test_the_sample_funds_pay_dividends_and_the_indexes_do_not():
    end = dt.date(2026, 1, 16)
    prices = sample.sample_prices(["IWM", "^RUT"], end)
    iwm, rut = prices["IWM"], prices["^RUT"]
    assert (rut["adj_close"] == rut["close"]).all()
    # Equal on the sample's anchor day (2025-12-31), below before it, above after the next dividend.
    assert iwm["adj_close"].loc["2025-12-31"] == iwm["close"].loc["2025-12-31"]
    assert (iwm["adj_close"] < iwm["close"]).loc[: "2025-12-01"].all()
    # Four ex-dividend days a year, each taking a quarter of the yield.
    ratio = (iwm["adj_close"] / iwm["close"]).loc["2025-01-01":"2025-12-31"]
    steps = ratio.diff().abs() > 1e-6
    assert steps.sum() == 4
    assert ratio.iloc[-1] / ratio.iloc[0] == pytest.approx(1 / (1 - sample.DIVIDEND_YIELD["IWM"] / 4) ** 4, rel=1e-3)
    # A history up to an earlier date is the same, to the digit: `--as-of` rebuilds reproduce.
    early = sample.sample_prices(["IWM"], dt.date(2025, 10, 31))["IWM"]
    pd.testing.assert_frame_equal(early, iwm.loc[early.index])


def test_a_dividend_after_the_cached_rows_still_counts(tmp_path):
    """The cache keeps rows fetched before a dividend Yahoo later folds into every earlier
    adjusted close; an incremental fetch re-reads only its last sessions. The adjusted closes then
    hold a seam where the old rows end, and reading them as they are would lose the dividend."""
    from build_data.fetch import cache

    close = [50.0, 50.0, 50.5, 51.0, 50.25, 50.5, 50.0, 50.75]
    f = 1 - 0.4 / 50.5                                   # 0.40 paid, ex-dividend Jan 8 (the 7th session)
    first = _frame(close[:6])                            # fetched Jan 7: no dividend yet, adj = close
    later = _frame(close, [c * f if i < 6 else c for i, c in enumerate(close)]).iloc[4:]   # Jan 9, re-reads 2
    merged = cache.reconcile_prices("IWM", first, later, tolerance=0.02).merged
    assert merged["adj_close"].loc["2025-12-31"] == 50.0          # the old rows keep their old adjustment
    assert merged["adj_close"].loc["2026-01-06"] == pytest.approx(50.25 * f, abs=1e-6)
    naive = merged["adj_close"].iloc[-1] / merged["adj_close"].loc["2025-12-31"] - 1
    assert naive == pytest.approx(50.75 / 50 - 1, abs=1e-9)       # the dividend lost
    _, out = _metrics(_universe(tmp_path), _prices(iwm=merged))
    assert out["iwm.ret_ytd"].value == pytest.approx(50.75 / 50 / f - 1, abs=1e-7)
    # The seam is no loss either: Jan 6's 1-day total return is the price return (no dividend that day).
    assert out["iwm.ret_20d"].value is None
    history = values.history("iwm.ret_1d", build.frame(Gathered(
        prices=_prices(iwm=merged), macro={}, status={}, sources={}, as_of=DAYS[-1].date(), data_mode="csv",
        mode_note=""), _universe(tmp_path)))
    assert history.loc["2026-01-06"] == pytest.approx(50.25 / 51 - 1, abs=1e-7)
    assert history.loc["2026-01-08"] == pytest.approx(50.0 / 50.5 / f - 1, abs=1e-7)


def test_a_missing_session_before_the_ex_dividend_day_loses_no_dividend(tmp_path):
    iwm = _frame(IWM_CLOSE, IWM_ADJ).drop(index=pd.Timestamp("2026-01-05"))
    _, out = _metrics(_universe(tmp_path), _prices(iwm=iwm))
    assert out["iwm.ret_ytd"].value == pytest.approx(76 / 2525, abs=1e-12)
    assert out["iwm.ret_ytd"].basis == "total"
