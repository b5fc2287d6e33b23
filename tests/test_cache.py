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
        cache.merge_prices("IWM", frame([1, 2]), frame([]), tolerance=0.02)


def test_fetch_that_rewrites_history_is_refused():
    old = frame([100, 101, 102])
    new = frame([100, 150, 102])
    with pytest.raises(CacheError, match="revision tolerance"):
        cache.merge_prices("IWM", old, new, tolerance=0.02)


def test_merge_extends_and_revises_within_tolerance_and_never_truncates():
    old = frame([100, 101, 102, 103])
    new = frame([102.5, 103, 104], pd.bdate_range(old.index[2], periods=3))
    merged = cache.merge_prices("IWM", old, new, tolerance=0.02)
    assert len(merged) == 5
    assert merged["close"].tolist() == [100, 101, 102.5, 103, 104]
    shorter = frame([102, 103], old.index[2:])
    assert len(cache.merge_prices("IWM", old, shorter, tolerance=0.02)) == 4


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
