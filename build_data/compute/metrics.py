"""Pure, vectorized market metrics.

`to_*` maps prices to a daily series (a Series, or a DataFrame with one column per symbol):
the catalog's value of a metric is the last row of its series, so one function defines it.
Inputs are close prices indexed by session date, ascending. Nothing here reads
files, fills gaps or mutates its input: NaN in gives NaN out.
"""
from __future__ import annotations

import functools
import weakref

import numpy as np
import pandas as pd

TRADING_DAYS = 252

Prices = pd.Series | pd.DataFrame

_SHARED: dict[tuple, tuple[weakref.ref, object]] = {}


def _shared(fn):
    """`fn(prices, ...)` computed once per input object: several catalog metrics read the same
    intermediate (the 50-session average for `sma_50`, `above_sma_50` and `sma_50_slope`), and a
    build passes them the same frame. Kept while that frame lives; inputs are never mutated."""
    @functools.wraps(fn)
    def once(prices, *args, **kwargs):
        key = (fn.__name__, id(prices), args, tuple(sorted(kwargs.items())))
        hit = _SHARED.get(key)
        if hit is not None and hit[0]() is prices:
            return hit[1]
        value = fn(prices, *args, **kwargs)
        try:
            ref = weakref.ref(prices, lambda _ref, key=key: _SHARED.pop(key, None))
        except TypeError:
            return value
        _SHARED[key] = (ref, value)
        return value
    return once


def to_returns(prices: Prices, *, sessions: int = 1) -> Prices:
    """Simple return over `sessions` sessions: p_t / p_{t-sessions} - 1 (NaN if either close is missing)."""
    return prices / prices.shift(sessions) - 1


def to_log_returns(prices: Prices) -> Prices:
    """ln(p_t / p_{t-1})."""
    return np.log(prices / prices.shift(1))


@_shared
def to_sma(prices: Prices, window: int) -> Prices:
    """Simple moving average over the last `window` sessions (NaN until the window is full)."""
    return prices.rolling(window, min_periods=window).mean()


def _window_mean(values: Prices, window: int) -> Prices:
    """Trailing mean over `window` rows, NaN unless all of them are present.

    Same as `rolling(window).mean()`, computed from cumulative sums so a wide frame is one
    array operation instead of one call per column."""
    present = values.notna()
    total = values.where(present, 0.0).cumsum()
    count = present.cumsum()
    mean = (total - total.shift(window, fill_value=0.0)) / window
    return mean.where(count - count.shift(window, fill_value=0) == window)


def _wilder_average(values: Prices, window: int) -> Prices:
    """Wilder's smoothing: seeded by the simple mean of the first `window` values, then
    avg_t = avg_{t-1} + (x_t - avg_{t-1}) / window, i.e. an EMA with alpha = 1/window."""
    sma = _window_mean(values, window)
    first = sma.notna() & sma.shift(1).isna()
    started = first.cumsum() > 0
    seeded = values.where(started).mask(first, sma)
    return seeded.ewm(alpha=1 / window, adjust=False).mean()


def to_rsi(prices: Prices, *, window: int = 14) -> Prices:
    """Wilder's relative strength index, 0..100 (Wilder 1978; StockCharts' worked example).

    RSI = 100 - 100 / (1 + avg_gain / avg_loss), with gains and losses smoothed by
    `_wilder_average`. No losses in the window gives 100; a flat window gives 50.
    """
    delta = prices.diff()
    avg_gain = _wilder_average(delta.clip(lower=0), window)
    avg_loss = _wilder_average((-delta).clip(lower=0), window)
    with np.errstate(divide="ignore", invalid="ignore"):
        rsi = 100 - 100 / (1 + avg_gain / avg_loss)
    flat = (avg_gain == 0) & (avg_loss == 0)
    return rsi.mask(flat, 50.0)


@_shared
def to_drawdown(prices: Prices) -> Prices:
    """Fall from the running peak: p_t / max(p_0..p_t) - 1, always <= 0."""
    return prices / prices.cummax() - 1


def to_volatility(prices: Prices, *, window: int = 20) -> Prices:
    """Realized volatility, annualized: stdev of the last `window` log returns x sqrt(252)."""
    return to_log_returns(prices).rolling(window, min_periods=window).std() * np.sqrt(TRADING_DAYS)


def to_new_records(prices: Prices) -> Prices:
    """True on sessions whose close beats every earlier close (an all-time record close)."""
    prior_peak = prices.cummax().ffill().shift(1)  # ffill: a missing session does not forget the record
    return (prices > prior_peak) & prior_peak.notna()


def to_streak(flags: Prices) -> Prices:
    """Length of the run of consecutive True values ending at each session (0 on False)."""
    flags = flags.fillna(False).astype(bool)
    count = flags.cumsum()
    at_last_false = count.where(~flags).ffill().fillna(0)
    return (count - at_last_false).astype("int64")


def to_outperformance(a: Prices, b: pd.Series) -> Prices:
    """True where A's session return strictly beats B's; False where either is missing."""
    ra, rb = to_returns(a), to_returns(b)
    beat = ra.gt(rb, axis=0) if isinstance(ra, pd.DataFrame) else ra > rb
    return beat & ra.notna() & (rb.notna() if isinstance(rb, pd.Series) else True)


def ytd_base_date(as_of: pd.Timestamp) -> pd.Timestamp:
    """YTD base: the last close of the previous year, as index providers report it."""
    return pd.Timestamp(year=as_of.year - 1, month=12, day=31)


def previous_week_end(as_of: pd.Timestamp) -> pd.Timestamp:
    """The last day (Sunday) of the calendar week before `as_of`'s: a weekly move starts from
    the last close on or before it."""
    return (as_of - pd.Timedelta(days=as_of.weekday() + 1)).normalize()


def horizon_base_dates(as_of: pd.Timestamp) -> dict[str, pd.Timestamp]:
    """Base date per return horizon. Month and year horizons are calendar offsets, so '1m'
    on Mar 31 starts from the last close on or before Feb 28."""
    return {
        "ret_1w": previous_week_end(as_of),
        "ret_1m": as_of - pd.DateOffset(months=1),
        "ret_3m": as_of - pd.DateOffset(months=3),
        "ret_ytd": ytd_base_date(as_of),
        "ret_1y": as_of - pd.DateOffset(years=1),
    }


# --- Daily series of the catalog's metrics (one value per session).

def to_base_close(prices: Prices, base_dates: pd.DatetimeIndex) -> Prices:
    """For each row, the close of the last row on or before that row's base date (NaN if that
    session has no close, or the base is before the first row: a gap is never bridged)."""
    pos = prices.index.searchsorted(base_dates, side="right") - 1
    values = prices.to_numpy(dtype="float64")
    base = np.where((pos >= 0)[:, None] if values.ndim == 2 else pos >= 0,
                    values[np.clip(pos, 0, None)], np.nan)
    if isinstance(prices, pd.DataFrame):
        return pd.DataFrame(base, index=prices.index, columns=prices.columns)
    return pd.Series(base, index=prices.index, name=prices.name)


def horizon_base_index(index: pd.DatetimeIndex, horizon: str) -> pd.DatetimeIndex:
    """Each row's base date for a return horizon, as `horizon_base_dates` gives it for one date:
    the same day k months back, clipped to the end of a shorter month (Mar 31 -> Feb 28)."""
    if horizon == "ret_ytd":
        return pd.DatetimeIndex(pd.to_datetime({"year": index.year - 1, "month": 12, "day": 31}))
    if horizon == "ret_1w":
        return index.normalize() - pd.to_timedelta(index.weekday + 1, unit="D")
    months = {"ret_1m": 1, "ret_3m": 3, "ret_1y": 12}[horizon]
    total = index.year.to_numpy() * 12 + index.month.to_numpy() - 1 - months
    year, month = total // 12, total % 12 + 1
    first = pd.to_datetime({"year": year, "month": month, "day": np.ones_like(year)})
    day = np.minimum(index.day.to_numpy(), first.dt.days_in_month.to_numpy())
    return pd.DatetimeIndex(pd.to_datetime({"year": year, "month": month, "day": day}))


_BASES: dict[tuple[str, int], tuple[pd.Index, pd.DatetimeIndex]] = {}


def _bases(index: pd.DatetimeIndex, horizon: str) -> pd.DatetimeIndex:
    """`horizon_base_index`, remembered for the index object it was asked for (a build asks for
    the same session index once per symbol and horizon)."""
    hit = _BASES.get((horizon, id(index)))
    if hit is not None and hit[0] is index:
        return hit[1]
    if len(_BASES) > 64:
        _BASES.clear()
    bases = horizon_base_index(index, horizon)
    _BASES[(horizon, id(index))] = (index, bases)
    return bases


def to_horizon_return(prices: Prices, horizon: str) -> Prices:
    """Return over a horizon at every session: close over the base session's close, minus one."""
    return prices / to_base_close(prices, _bases(prices.index, horizon)) - 1


@_shared
def _record_marks(prices: Prices) -> Prices:
    """True where a running record is set: the first close, and every close above all earlier ones."""
    prior = prices.cummax().ffill().shift(1)  # ffill: a missing session does not forget the record
    return (prices > prior) | (prices.notna() & prior.isna())


def _carry(prices: Prices, where, values) -> Prices:
    """`values` on the rows where `where` is true, carried forward to the following rows."""
    marked = np.where(where, values, np.nan if np.asarray(values).dtype.kind == "f" else np.datetime64("NaT"))
    if isinstance(prices, pd.DataFrame):
        return pd.DataFrame(marked, index=prices.index, columns=prices.columns).ffill()
    return pd.Series(marked, index=prices.index, name=prices.name).ffill()


def _row_values(prices: Prices, values: np.ndarray) -> np.ndarray:
    return np.broadcast_to(values[:, None], prices.shape) if isinstance(prices, pd.DataFrame) else values


def to_record_date(prices: Prices) -> Prices:
    """The session on which the running record close was first set (the first, on ties)."""
    return _carry(prices, _record_marks(prices), _row_values(prices, prices.index.to_numpy()))


@_shared
def to_sessions_since_record(prices: Prices) -> Prices:
    """Rows since the running record: exchange sessions, as the index is the session calendar."""
    pos = _row_values(prices, np.arange(len(prices), dtype="float64"))
    return pos - _carry(prices, _record_marks(prices), pos)


def to_drought_rank(prices: Prices) -> Prices:
    """The current record drought's rank at every session, over the whole history before it:
    1 + the number of earlier droughts (runs of sessions without a record close) longer than the
    current one; NaN on a record day and before the series starts.

    A frame is one `to_sessions_since_record` for all its columns, then each column's ranks as
    `to_streak_rank` gives them for that column alone."""
    since = to_sessions_since_record(prices)
    if isinstance(prices, pd.Series):
        known = since.dropna()
        return to_streak_rank(known).reindex(prices.index)
    values = since.to_numpy(dtype="float64")
    out = np.full(values.shape, np.nan)
    for j in range(values.shape[1]):
        col = values[:, j]
        ok = ~np.isnan(col)
        out[ok, j] = _streak_ranks(col[ok])
    return pd.DataFrame(out, index=prices.index, columns=prices.columns)


def to_records_ytd(prices: Prices) -> Prices:
    """Record closes so far in each row's calendar year."""
    records = to_new_records(prices).astype("float64")
    return records.groupby(prices.index.year).cumsum()


# 52 weeks exactly: the window (t - 364 days, t] holds 52 of each weekday, so a Friday's
# 52-week range spans 52 Fridays, never the one 52 weeks back too.
WEEKS_52_DAYS = 364


@_shared
def to_range_high(prices: Prices, *, days: int = WEEKS_52_DAYS) -> Prices:
    """Highest close in the `days` calendar days ending at each row."""
    return prices.rolling(f"{days}D").max()


def to_range_low(prices: Prices, *, days: int = WEEKS_52_DAYS) -> Prices:
    """Lowest close in the `days` calendar days ending at each row."""
    return prices.rolling(f"{days}D").min()


def to_longest_streak(streak: Prices) -> Prices:
    """Longest run so far at each session."""
    return streak.cummax()


def to_longest_streak_date(streak: pd.Series) -> pd.Series:
    """Session on which the longest run so far ended (the latest, on ties)."""
    at_max = streak.eq(streak.cummax())
    return pd.Series(np.where(at_max, streak.index.to_numpy(), np.datetime64("NaT")), index=streak.index).ffill()


def to_streak_rank(streak: pd.Series) -> pd.Series:
    """The current run's rank at every session: 1 + the number of earlier, finished runs longer than
    the current one; NaN when there is no current run."""
    return pd.Series(_streak_ranks(streak.to_numpy(dtype="float64")), index=streak.index)


def _streak_ranks(values: np.ndarray) -> np.ndarray:
    """`to_streak_rank` on an array of run lengths. A run is finished on the row before a 0 (not
    on the last row): a row's rank counts the runs finished on earlier rows that are longer than
    its own value, all rows at once (in blocks of rows, to bound the comparison table)."""
    out = np.full(len(values), np.nan)
    if not len(values):
        return out
    running = values > 0
    cuts = np.flatnonzero((values[1:] == 0) & running[:-1])  # the rows a run is finished on
    lengths = values[cuts]
    rows = np.flatnonzero(running)
    before = np.searchsorted(cuts, rows, side="left")  # how many runs were finished before each row
    order = np.arange(len(cuts))
    step = max(1, (1 << 22) // max(1, len(cuts)))
    for lo in range(0, len(rows), step):
        at = rows[lo:lo + step]
        longer = (lengths[None, :] > values[at][:, None]) & (order[None, :] < before[lo:lo + step][:, None])
        out[at] = longer.sum(axis=1) + 1
    return out
