"""The raw cache: atomic writes, refusal of worse data, detection of corruption."""
from __future__ import annotations

import os

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
    path = tmp_path / "prices" / "IWM.csv"
    before = path.read_bytes()

    def crash(*_args):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        cache.save_prices(tmp_path, "IWM", frame([1, 2, 3, 4]), source="yahoo", fetched_at="t1")
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["IWM.csv"]  # no temp file left behind


def test_atomic_write_creates_folders(tmp_path):
    atomic.write_text(tmp_path / "a" / "b.txt", "x")
    assert (tmp_path / "a" / "b.txt").read_text() == "x"


def test_corrupt_file_is_detected_not_used(tmp_path):
    cache.save_prices(tmp_path, "IWM", frame([1, 2, 3]), source="yahoo", fetched_at="t0")
    path = tmp_path / "prices" / "IWM.csv"
    path.write_text(path.read_text().replace("2.000000", "9.000000"))
    with pytest.raises(CacheError, match="checksum mismatch"):
        cache.load_prices(tmp_path, "IWM")
    path.write_text("garbage without header")
    with pytest.raises(CacheError, match="corrupt"):
        cache.load_prices(tmp_path, "IWM")


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
