"""The raw cache: atomic writes, refusal of worse data, detection of corruption."""
from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
import pytest

from build_data import atomic
from build_data.fetch import cache
from build_data.errors import CacheError
from tests.test_validate import frame


def test_roundtrip_keeps_values(tmp_path):
    f = frame([100.5, 101.25, 99.125])
    cache.save_prices(tmp_path, "^RUT", f, source="yahoo", fetched_at="2026-01-16T22:00:00Z")
    hit = cache.load_prices(tmp_path, "^RUT")
    pd.testing.assert_frame_equal(hit.data, f.rename_axis("date"), check_freq=False)
    assert hit.source == "yahoo" and hit.fetched_at == "2026-01-16T22:00:00Z"


def test_interrupted_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    cache.save_prices(tmp_path, "IWM", frame([1, 2, 3]), source="yahoo", fetched_at="t0")
    path = tmp_path / "prices" / "IWM.parquet"
    before = path.read_bytes()

    def crash(*_args):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):  # an appended row (the tail)
        cache.save_prices(tmp_path, "IWM", frame([1, 2, 3, 4]), source="yahoo", fetched_at="t1")
    with pytest.raises(OSError):  # a rewritten history (the base)
        cache.save_prices(tmp_path, "IWM", frame([5, 6, 7, 8]), source="yahoo", fetched_at="t1")
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["IWM.parquet"]  # no temp file left behind
    assert cache.load_prices(tmp_path, "IWM").data["close"].tolist() == [1, 2, 3]


def test_atomic_write_creates_folders(tmp_path):
    atomic.write_text(tmp_path / "a" / "b.txt", "x")
    assert (tmp_path / "a" / "b.txt").read_text() == "x"


def test_corrupt_file_is_detected_not_used(tmp_path):
    cache.save_prices(tmp_path, "IWM", frame([1, 2, 3]), source="yahoo", fetched_at="t0")
    path = tmp_path / "prices" / "IWM.parquet"
    good = path.read_bytes()
    for at in range(4, len(good) - 4, 7):  # any flipped byte is caught, or changes nothing that is read
        bad = bytearray(good)
        bad[at] ^= 0x01
        path.write_bytes(bytes(bad))
        try:
            hit = cache.load_prices(tmp_path, "IWM")
        except CacheError as exc:
            assert "prices/IWM.parquet: corrupt" in str(exc) and exc.path == path
        else:
            pd.testing.assert_frame_equal(hit.data, frame([1, 2, 3]).rename_axis("date"), check_exact=True,
                                          check_freq=False, check_index_type=False)
    path.write_text("garbage without header")
    with pytest.raises(CacheError, match="corrupt"):
        cache.load_prices(tmp_path, "IWM")


def test_a_legacy_macro_style_price_file_with_a_bad_checksum_is_corrupt(tmp_path):
    legacy = tmp_path / "prices" / "IWM.csv"
    legacy.parent.mkdir(parents=True)
    legacy.write_text("# sha256=0 source=yahoo\ndate,open\n")
    with pytest.raises(CacheError, match="checksum mismatch") as caught:
        cache.load_prices(tmp_path, "IWM")
    assert caught.value.path == legacy and legacy.exists()  # kept for quarantine, not migrated


def test_empty_fetch_is_refused():
    with pytest.raises(CacheError, match="empty"):
        cache.reconcile_prices("IWM", frame([1, 2]), frame([]), tolerance=0.02)


def test_fetch_that_rewrites_history_is_refused():
    # Most of the settled overlap moved beyond the tolerance: a restatement nobody reported.
    old = frame([100, 101, 102, 103])
    new = frame([100, 150, 153, 155])
    with pytest.raises(CacheError, match="revision tolerance"):
        cache.reconcile_prices("IWM", old, new, tolerance=0.02)


def test_merge_extends_and_revises_within_tolerance_and_never_truncates():
    old = frame([100, 101, 102, 103])
    new = frame([102.5, 103, 104], pd.bdate_range(old.index[2], periods=3))
    merged = cache.reconcile_prices("IWM", old, new, tolerance=0.02).merged
    assert len(merged) == 5
    assert merged["close"].tolist() == [100, 101, 102.5, 103, 104]
    shorter = frame([102, 103], old.index[2:])
    assert len(cache.reconcile_prices("IWM", old, shorter, tolerance=0.02).merged) == 4


def test_provisional_sessions_take_any_correction():
    old = frame([100, 101, 102, 108])  # the last close printed 6% high
    new = frame([101, 102, 102, 103], pd.bdate_range(old.index[1], periods=4))
    got = cache.reconcile_prices("IWM", old, new, tolerance=0.02, provisional=1)
    assert got.merged["close"].tolist() == [100, 101, 102, 102, 103]
    assert got.disputed == [] and got.accepted == [] and got.pending == {}
    # Without a provisional session the same correction is disputed: the cached close stays.
    strict = cache.reconcile_prices("IWM", old, new, tolerance=0.02, when="run1")
    assert strict.merged["close"].tolist() == [100, 101, 102, 108, 103]
    assert [d["session"] for d in strict.disputed] == ["2026-01-08"]


def test_a_settled_correction_is_disputed_then_accepted_when_seen_again():
    old = frame([100, 101, 102, 103, 104])
    new = frame([100, 104.5, 102, 103, 104, 105], pd.bdate_range(old.index[0], periods=6))
    first = cache.reconcile_prices("IWM", old, new, tolerance=0.02, provisional=2, when="run1")
    # Kept at the cached value, later sessions flow, the correction awaits a second sighting.
    assert first.merged["close"].tolist() == [100, 101, 102, 103, 104, 105]
    assert first.disputed == [{"session": "2026-01-06", "old": 101.0, "new": 104.5, "drift": pytest.approx(3.5 / 101)}]
    assert first.pending == {"2026-01-06": {"new": 104.5, "old": 101.0, "seen": "run1"}}
    # The same run again (the same fetch time) is no second sighting.
    again = cache.reconcile_prices("IWM", first.merged, new, tolerance=0.02, provisional=2, pending=first.pending,
                                   when="run1")
    assert again.accepted == [] and again.merged["close"].iloc[1] == 101
    second = cache.reconcile_prices("IWM", first.merged, new, tolerance=0.02, provisional=2, pending=first.pending,
                                    when="run2")
    assert second.merged["close"].tolist() == [100, 104.5, 102, 103, 104, 105]
    assert second.accepted == [{"session": "2026-01-06", "old": 101.0, "new": 104.5, "when": "run2",
                                "how": "seen again"}]
    assert second.pending == {} and second.disputed == []


def test_a_cross_check_accepts_a_settled_correction_at_once():
    old = frame([100, 101, 102, 103, 104])
    new = frame([100, 104.5, 102, 103, 104], old.index)
    seen = []

    def confirms(day, was, now):
        seen.append((day, was, now))
        return True
    got = cache.reconcile_prices("IWM", old, new, tolerance=0.02, provisional=2, when="run1", confirms=confirms)
    assert seen == [(pd.Timestamp("2026-01-06"), 101.0, 104.5)]
    assert got.merged["close"].iloc[1] == 104.5 and got.accepted[0]["how"] == "cross-check"


def test_canonical_is_the_cache_texts_rounding_bit_for_bit():
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.uniform(0, 60_000, 200_000), rng.uniform(0, 5, 100_000),
                             (np.arange(1, 50_000) + 0.5) / 1e6,           # exactly halfway, as written
                             (np.arange(1, 50_000) + 0.5) / 1e3 + 1e-12,   # a hair off halfway
                             rng.integers(0, 10**11, 1000).astype(float), [np.nan, -0.0, 1e17 + 0.25, -1.2345675]])
    fast = cache.round6(values)
    text = np.array([float(f"{v:.6f}") for v in values])
    assert np.array_equal(fast.view("int64")[~np.isnan(values)], text.view("int64")[~np.isnan(values)])
    assert np.isnan(fast[np.isnan(values)]).all()


def test_canonical_frames_are_what_the_cache_file_gives_back(tmp_path):
    old = frame([2034.1234, 1999.9999, 2001.5])
    restated = old.copy()
    restated[["open", "high", "low", "close", "adj_close"]] /= 3  # a split: 678.04113333...
    canon = cache.canonical(restated)
    cache.save_prices(tmp_path, "IWM", canon, source="yahoo", fetched_at="t")
    back = cache.load_prices(tmp_path, "IWM").data
    pd.testing.assert_frame_equal(back, canon, check_exact=True, check_freq=False)
    assert (canon["close"] != restated["close"]).any()  # the raw division is not what is stored


def test_save_refuses_to_shrink_the_history(tmp_path):
    cache.save_prices(tmp_path, "IWM", frame([1, 2, 3]), source="yahoo", fetched_at="t0")
    with pytest.raises(CacheError, match="refusing to replace 3 cached rows with 2"):
        cache.save_prices(tmp_path, "IWM", frame([1, 2]), source="yahoo", fetched_at="t1")


def test_macro_roundtrip_and_revision(tmp_path):
    s = pd.Series([200e3, 210e3], index=pd.to_datetime(["2026-01-03", "2026-01-10"]), name="ICSA")
    cache.save_macro(tmp_path, "ICSA", s, source="fred", fetched_at="t0")
    revised = pd.Series([205e3, 199e3], index=pd.to_datetime(["2026-01-10", "2026-01-17"]), name="ICSA")
    merged = cache.merge_macro("ICSA", cache.load_macro(tmp_path, "ICSA").data, revised)
    assert merged.tolist() == [200e3, 205e3, 199e3]


def test_atomic_files_get_the_usual_mode_not_owner_only(tmp_path):
    atomic.write_text(tmp_path / "x.json", "{}")
    assert (tmp_path / "x.json").stat().st_mode & 0o777 == atomic.FILE_MODE
    assert atomic.FILE_MODE & 0o044  # group and others can read what the site publishes


def history(n: int, start: str = "2016-01-04", seed: int = 0) -> pd.DataFrame:
    """`n` sessions of canonical prices (as the cache holds them)."""
    rng = np.random.default_rng(seed)
    close = 100 * np.cumprod(1 + rng.normal(0, 0.01, n))
    f = pd.DataFrame({"open": close * 1.001, "high": close * 1.01, "low": close * 0.99, "close": close,
                      "adj_close": close * 0.98, "volume": rng.integers(1e6, 5e7, n).astype(float)},
                     index=pd.bdate_range(start, periods=n))
    return cache.canonical(f)


def files(folder) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in (folder / "prices").iterdir()}


def test_a_daily_run_writes_only_the_new_rows_and_the_history_reads_back_exactly(tmp_path):
    full = history(2600)
    cache.save_prices(tmp_path, "IWM", full.iloc[:2500], source="yahoo", fetched_at="day0")
    base = files(tmp_path)["IWM.parquet"]
    for day in range(1, cache.TAIL_ROWS + 1):  # one session a day, each run re-reading its tail
        cache.save_prices(tmp_path, "IWM", full.iloc[: 2500 + day], source="yahoo", fetched_at=f"day{day}")
        now = files(tmp_path)
        assert now["IWM.parquet"] == base  # the history is not rewritten
        assert now["IWM.parquet.tail"][1] < base[1] / 10
        got = cache.load_prices(tmp_path, "IWM")
        pd.testing.assert_frame_equal(got.data, full.iloc[: 2500 + day], check_exact=True, check_freq=False,
                                      check_index_type=False)
        assert got.fetched_at == f"day{day}"
    # The tail past TAIL_ROWS is folded into the history: one rewrite, then small tails again.
    cache.save_prices(tmp_path, "IWM", full.iloc[: 2501 + cache.TAIL_ROWS], source="yahoo", fetched_at="fold")
    assert set(files(tmp_path)) == {"IWM.parquet"} and files(tmp_path)["IWM.parquet"] != base
    pd.testing.assert_frame_equal(cache.load_prices(tmp_path, "IWM").data, full.iloc[: 2501 + cache.TAIL_ROWS],
                                  check_exact=True, check_freq=False, check_index_type=False)


def test_an_unchanged_history_writes_nothing(tmp_path):
    h = history(300)
    cache.save_prices(tmp_path, "IWM", h.iloc[:290], source="yahoo", fetched_at="t0")
    cache.save_prices(tmp_path, "IWM", h, source="yahoo", fetched_at="t1")
    before = files(tmp_path)
    cache.save_prices(tmp_path, "IWM", h.copy(), source="yahoo", fetched_at="t2")
    assert files(tmp_path) == before


def test_revised_and_dropped_rows_in_the_tail_read_back_as_saved(tmp_path):
    h = history(400)
    cache.save_prices(tmp_path, "IWM", h.iloc[:390], source="yahoo", fetched_at="t0")
    cache.save_prices(tmp_path, "IWM", h.iloc[:395], source="yahoo", fetched_at="t1")  # a tail of 5
    # A revised close in the base's last rows, a row the next history no longer holds, two new ones.
    revised = h.iloc[:397].copy()
    revised.iloc[385, revised.columns.get_loc("close")] = 123.456789
    revised = revised.drop(index=revised.index[388])
    cache.save_prices(tmp_path, "IWM", revised, source="yahoo", fetched_at="t2")
    assert files(tmp_path)["IWM.parquet.tail"][1] < files(tmp_path)["IWM.parquet"][1] / 5
    got = cache.load_prices(tmp_path, "IWM").data
    pd.testing.assert_frame_equal(got, revised, check_exact=True, check_freq=False, check_index_type=False)


def test_a_restated_history_rewrites_the_base_and_drops_the_tail(tmp_path):
    h = history(300)
    cache.save_prices(tmp_path, "IWM", h.iloc[:290], source="yahoo", fetched_at="t0")
    cache.save_prices(tmp_path, "IWM", h, source="yahoo", fetched_at="t1")
    split = h.copy()
    split[["open", "high", "low", "close", "adj_close"]] /= 2
    split = cache.canonical(split)
    cache.save_prices(tmp_path, "IWM", split, source="yahoo", fetched_at="t2")
    assert set(files(tmp_path)) == {"IWM.parquet"}
    pd.testing.assert_frame_equal(cache.load_prices(tmp_path, "IWM").data, split, check_exact=True,
                                  check_freq=False, check_index_type=False)


def test_a_csv_cache_is_migrated_once_bit_for_bit(tmp_path):
    """A cache written before Parquet: the header line and CSV body, read once and rewritten."""
    h = history(500)
    body = h.to_csv(index_label="date", float_format=cache.FLOAT_FORMAT, date_format="%Y-%m-%d")
    legacy = tmp_path / "prices" / "^RUT.csv"
    legacy.parent.mkdir(parents=True)
    legacy.write_text(cache._encode(body, "yahoo", "2026-01-15T22:00:00Z", h.index))
    got = cache.load_prices(tmp_path, "^RUT")
    pd.testing.assert_frame_equal(got.data, h, check_exact=True, check_freq=False, check_index_type=False)
    assert (got.source, got.fetched_at) == ("yahoo", "2026-01-15T22:00:00Z")
    assert set(files(tmp_path)) == {"^RUT.parquet"}  # the CSV file is gone, once written anew
    again = cache.load_prices(tmp_path, "^RUT")
    pd.testing.assert_frame_equal(again.data, got.data, check_exact=True, check_freq=False)
    # The next daily run appends to the migrated history.
    more = pd.concat([h, history(501).iloc[-1:]])
    cache.save_prices(tmp_path, "^RUT", more, source="yahoo", fetched_at="2026-01-16T22:00:00Z")
    assert set(files(tmp_path)) == {"^RUT.parquet", "^RUT.parquet.tail"}
    pd.testing.assert_frame_equal(cache.load_prices(tmp_path, "^RUT").data, more, check_exact=True,
                                  check_freq=False, check_index_type=False)


def test_a_corrupt_tail_quarantines_the_series_whole(tmp_path):
    import datetime as dt

    h = history(300)
    cache.save_prices(tmp_path, "IWM", h.iloc[:290], source="yahoo", fetched_at="t0")
    cache.save_prices(tmp_path, "IWM", h, source="yahoo", fetched_at="t1")
    tail = tmp_path / "prices" / "IWM.parquet.tail"
    tail.write_bytes(tail.read_bytes()[:-20])  # cut short
    with pytest.raises(CacheError, match="IWM.parquet.tail: corrupt") as caught:
        cache.load_prices(tmp_path, "IWM")
    aside = cache.quarantine(caught.value.path, dt.datetime(2026, 1, 16, 22))
    assert aside.name == "IWM.parquet.corrupt-20260116T220000"
    assert set(files(tmp_path)) == {"IWM.parquet.corrupt-20260116T220000", "IWM.parquet.tail.corrupt-20260116T220000"}
    assert cache.load_prices(tmp_path, "IWM") is None
    pending = cache.quarantined(tmp_path, "prices", "IWM")
    assert (pending.first, pending.last) == (h.index[0].date(), h.index[-1].date())
    assert not pending.covered_by(h.index[5:]) and pending.covered_by(h.index)
    assert set(cache.legible_dates(aside)) == {d.date() for d in h.index[:290]}


def saved_bytes(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "prices").iterdir())}


def test_a_save_from_the_history_already_read_writes_the_same_files_as_one_that_reads_them(tmp_path):
    """save_prices given the Cached that load_prices returned (with where its tail starts) writes
    exactly the bytes it writes when it reads the files itself: tails, folds and restatements."""
    full = history(400)
    given, reads = tmp_path / "given", tmp_path / "reads"
    for folder in (given, reads):
        cache.save_prices(folder, "IWM", full.iloc[:300], source="yahoo", fetched_at="t0")
    for day in range(1, 60):
        step = full.iloc[: 300 + day].copy()
        if day % 7 == 0:  # a revised close among the recent rows
            step.iloc[-3, step.columns.get_loc("close")] += 0.5
        if day == 45:  # a restated history (a split) rewrites the base
            step[["open", "high", "low", "close", "adj_close"]] /= 2
        step = cache.canonical(step)
        stored = cache.load_prices(given, "IWM")
        # Where the tail takes over, remembered as read: what reading the tail's metadata again says.
        assert stored.tail_from == cache._tail_from(given / "prices" / "IWM.parquet.tail", stored.data)
        cache.save_prices(given, "IWM", step, source="yahoo", fetched_at=f"t{day}", stored=stored)
        cache.save_prices(reads, "IWM", step, source="yahoo", fetched_at=f"t{day}")
        assert saved_bytes(given) == saved_bytes(reads), day
    assert (given / "prices" / "IWM.parquet.tail").exists()  # the last runs wrote tails again


def test_a_save_from_the_history_already_read_still_refuses_fewer_rows(tmp_path):
    cache.save_prices(tmp_path, "IWM", frame([1, 2, 3]), source="yahoo", fetched_at="t0")
    stored = cache.load_prices(tmp_path, "IWM")
    with pytest.raises(CacheError, match="refusing to replace 3 cached rows with 2"):
        cache.save_prices(tmp_path, "IWM", frame([1, 2]), source="yahoo", fetched_at="t1", stored=stored)


def test_reconcile_keeps_the_history_before_the_fetch_as_stored_and_rounds_only_the_window():
    """The rows before the fetch's first date are the cache's own (already canonical), untouched
    to the bit; the window is brought to the cache's precision."""
    old = history(300)
    odd = old.copy()
    odd.iloc[10, odd.columns.get_loc("close")] = 100.123456789  # not a value the cache would store
    odd.iloc[-2, odd.columns.get_loc("close")] += 1e-9  # the same, but for digits the cache drops
    new = old.iloc[-5:].copy()
    got = cache.reconcile_prices("IWM", odd, new, tolerance=0.02).merged
    assert got["close"].iloc[10] == 100.123456789  # before the window: kept as it was
    assert got["close"].iloc[-2] != odd["close"].iloc[-2]
    assert got["close"].iloc[-2] == old["close"].iloc[-2]  # in the window: at the cache's precision
    assert len(got) == 300
    assert got.index.dtype == "datetime64[us]" and got.index.name == "date" and got.index.freq is None


@pytest.mark.parametrize("seed", range(6))
def test_reconcile_on_the_window_is_the_label_merge_bit_for_bit(seed):
    """The window reconcile gives the frame, disputes, acceptances and pending book that the
    merge by labels over the whole history gives (the path taken for repeated dates)."""
    rng = np.random.default_rng(seed)
    for _ in range(40):
        old = history(int(rng.integers(2, 120)), seed=int(rng.integers(1000)))
        start = int(rng.integers(max(0, len(old) - 12), len(old) + 1))
        later = history(len(old) + 10, seed=int(rng.integers(1000)))
        new = pd.concat([old.iloc[start:], later.iloc[len(old):] * (old["close"].iloc[-1] / 100)]).copy()
        for _ in range(int(rng.integers(0, 4))):  # last-digit noise, small and large corrections
            new.iloc[int(rng.integers(len(new))), 3] *= float(rng.choice([1 + 1e-9, 1.01, 1.05]))
        if rng.random() < 0.2 and len(new) > 1:  # a row the fetch no longer holds
            new = new.drop(index=new.index[int(rng.integers(len(new)))])
        pending = {}
        if rng.random() < 0.4:
            pending[old.index[int(rng.integers(len(old)))].date().isoformat()] = {
                "new": float(new["close"].iloc[0] * rng.choice([1.0, 1.05])), "seen": str(rng.choice(["r0", "r1"])),
                "old": 1.0}
        kwargs = dict(tolerance=0.02, provisional=int(rng.integers(0, 4)), pending=pending, when="r1",
                      confirms=(lambda day, was, now: day.day % 2 == 0) if rng.random() < 0.5 else None,
                      recent_from=old.index[max(0, len(old) - 5)] if rng.random() < 0.5 else None)
        try:
            window = cache.reconcile_prices("IWM", old, new, **kwargs)
        except CacheError as exc:
            with pytest.raises(CacheError, match=re.escape(str(exc))):
                cache._reconcile_labelled("IWM", old, cache.canonical(new), **kwargs)
            continue
        labels = cache._reconcile_labelled("IWM", old, cache.canonical(new), **kwargs)
        pd.testing.assert_frame_equal(window.merged, labels.merged, check_exact=True)
        assert np.array_equal(window.merged.to_numpy().view("int64"), labels.merged.to_numpy().view("int64"))
        assert (window.disputed, window.accepted, window.pending) == (labels.disputed, labels.accepted, labels.pending)


def test_reconcile_with_repeated_dates_merges_by_label():
    """A history holding a date twice (never one this cache wrote) is merged by label, as before."""
    full = history(12)
    old = pd.concat([full.iloc[:3], full.iloc[[2]], full.iloc[3:10]])  # the third session twice
    got = cache.reconcile_prices("IWM", old, full.iloc[7:], tolerance=0.02).merged
    assert len(got) == 13 and list(got.index[2:4]) == [full.index[2]] * 2 and got.index[-1] == full.index[-1]
