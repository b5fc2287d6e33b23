"""One bad frame per validation rule; each must raise naming the series and the rule."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from build_data.fetch import validate
from build_data.errors import ValidationError


def frame(closes, dates=None):
    idx = pd.DatetimeIndex(dates) if dates is not None else pd.bdate_range("2026-01-05", periods=len(closes))
    c = np.asarray(closes, dtype=float)
    return pd.DataFrame({"open": c, "high": c, "low": c, "close": c, "adj_close": c, "volume": 1e6}, index=idx)


@pytest.mark.parametrize("bad, rule", [
    (frame([]), "empty"),
    (frame([1, 2, 3], ["2026-01-05", "2026-01-05", "2026-01-06"]), "duplicate dates"),
    (frame([1, 2, 3], ["2026-01-07", "2026-01-05", "2026-01-06"]), "unordered dates"),
    (frame([100, 0, 100]), "non-positive price"),
    (frame([100, -5, 100]), "non-positive price"),
    (frame([100, np.nan, 100]), "missing close"),
    (frame([100, 140, 141]), "implausible one-day move"),
])
def test_each_price_rule_raises(bad, rule):
    with pytest.raises(ValidationError) as err:
        validate.check_prices("rut (^RUT)", bad, max_move=0.25)
    assert err.value.rule == rule
    assert str(err.value).startswith("rut (^RUT): " + rule)


def test_good_frame_passes():
    validate.check_prices("rut (^RUT)", frame([100, 110, 105]), max_move=0.25)


def test_stale_rule_counts_exchange_sessions():
    f = frame([1, 2], ["2026-01-14", "2026-01-15"])
    # Fri 16th and Tue 20th are sessions; Mon 19th is Martin Luther King Jr. Day.
    validate.check_fresh("x", f, dt.date(2026, 1, 20), max_stale=2)
    with pytest.raises(ValidationError, match="stale"):
        validate.check_fresh("x", f, dt.date(2026, 1, 21), max_stale=2)


def test_too_little_history_rule():
    with pytest.raises(ValidationError) as err:
        validate.check_history("iwm (IWM)", frame([1, 2, 3]), 63, "volume_avg_63")
    assert err.value.rule == "too little history" and "63" in str(err.value)


def test_macro_rules():
    with pytest.raises(ValidationError, match="empty"):
        validate.check_macro("cpi (CPIAUCSL)", pd.Series([], dtype=float))
    dup = pd.Series([1.0, 2.0], index=pd.to_datetime(["2026-01-01", "2026-01-01"]))
    with pytest.raises(ValidationError, match="duplicate dates"):
        validate.check_macro("cpi (CPIAUCSL)", dup)


def test_an_index_and_its_fund_parting_on_one_day_is_flagged():
    index = frame([2000, 2020, 2141.2, 2150]).loc[:, "close"]   # +6% on the third day
    fund = frame([200, 202, 202.5, 203.4]).loc[:, "close"]      # +0.25%
    [(day, move_index, move_fund)] = validate.tracking_gaps(index, fund, gap=0.02)
    assert day == index.index[2].date()
    assert move_index == pytest.approx(0.06) and move_fund == pytest.approx(0.5 / 202)
    assert validate.tracking_gaps(index, fund, gap=0.02, last=1) == []  # only the latest sessions
    assert validate.tracking_gaps(fund * 10, fund, gap=0.02) == []


def test_dropping_non_sessions_finds_what_the_calendar_query_finds():
    """The calendar's sessions looked up once give the same rows as asking the calendar per frame:
    weekends, holidays, a closure, a bar not at midnight, dates before and after the calendar."""
    from build_data import sessions
    days = pd.DatetimeIndex(list(pd.date_range("1984-12-24", "1985-01-08")) + list(pd.date_range("2001-09-07", "2001-09-18"))
                            + list(pd.date_range("2025-12-20", "2026-01-06")) + [pd.Timestamp("2026-01-07 15:30")]
                            + list(pd.date_range("2099-01-01", "2099-01-03")), name="date")
    for unit in ("ns", "us"):
        data = frame(np.arange(1, len(days) + 1), days.as_unit(unit))
        kept, dropped = validate.drop_non_sessions(data)
        bad = sessions.non_sessions(data.index)
        assert dropped == [d.date().isoformat() for d in bad] and "2001-09-11" in dropped and "2025-12-25" in dropped
        pd.testing.assert_frame_equal(kept, data.drop(bad))
    clean = frame([1, 2, 3])
    assert validate.drop_non_sessions(clean)[0] is clean  # nothing to drop: the frame itself


@pytest.mark.parametrize("dates, rule", [
    (["2026-01-05", "2026-01-06", "2026-01-06"], "duplicate dates"),
    (["2026-01-05", "2026-01-07", "2026-01-06"], "unordered dates"),
])
def test_check_dates_names_repeated_and_unordered_dates(dates, rule):
    with pytest.raises(ValidationError, match=rule):
        validate.check_dates("IWM", frame([1, 2, 3], dates))
