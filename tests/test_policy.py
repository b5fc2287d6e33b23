"""The fail-closed publish verdict: one policy (publish: in universe.yml), carried by the snapshot."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from build_data import sessions
from build_data.errors import BuildError
from build_data.policy import verdict

REPO = Path(__file__).resolve().parents[1]
OK = {"status": "ok", "reason": None}
FRIDAY = dt.date(2026, 1, 16)


def status(**changes):
    base = {a: dict(OK) for a in ("rut", "spx", "ndx", "iwm", "us10y")}
    return base | changes


@pytest.mark.parametrize("mode, as_of, st, publishable, reason", [
    ("live", FRIDAY, status(), True, "live data through 2026-01-16"),
    ("cache", dt.date(2026, 1, 15), status(), True, "cached data through 2026-01-15, labelled as such on the pages"),
    # Yahoo down for a week: the cache is 5 sessions behind, over the limit of 3.
    ("cache", dt.date(2026, 1, 9), status(), False, "the data ends 2026-01-09, 5 sessions before 2026-01-16 (the limit is 3)"),
    ("sample", FRIDAY, status(), False, "the data is the built-in sample, not market data"),
    ("live", FRIDAY, status(spx={"status": "stale", "reason": "spx: stale"}), False,
     "core series spx has no usable data (spx: stale)"),
    # A non-core series may be missing: it is shown as unavailable with its reason.
    ("live", FRIDAY, status(iwm={"status": "missing", "reason": "no cache"}), True, "live data through 2026-01-16"),
    ("cache", FRIDAY, status(iwm={"status": "ok", "reason": "live data refused: IWM: ..."}), True,
     "cached data through 2026-01-16, labelled as such on the pages"),
])
def test_verdict(universe, mode, as_of, st, publishable, reason):
    got = verdict(universe=universe, data_mode=mode, as_of=as_of, status=st, latest_session=FRIDAY)
    assert got == {"publishable": publishable, "publishable_reason": reason}


def test_block_on_validation_failure_stops_the_deploy(universe):
    strict = universe.model_copy(update={"publish": universe.publish.model_copy(update={"on_validation_failure": "block"})})
    st = status(iwm={"status": "ok", "reason": "live data refused: IWM: fetched close differs"})
    got = verdict(universe=strict, data_mode="cache", as_of=FRIDAY, status=st, latest_session=FRIDAY)
    assert got == {"publishable": False,
                   "publishable_reason": "data failed validation for iwm (publish.on_validation_failure: block)"}


def verdict_cli(out: Path):
    return subprocess.run([sys.executable, "-m", "build_data", "verdict", "--out", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_the_verdict_command_is_the_deploy_gate(tmp_path):
    out = tmp_path / "out"
    build = subprocess.run([sys.executable, "-m", "build_data", "--source", "sample", "--as-of", "2026-01-16",
                            "--out", str(out), "--cache-dir", str(tmp_path / "cache")],
                           cwd=REPO, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    assert "publishable: no: the data is the built-in sample, not market data" in build.stderr
    snap = json.loads((out / "metrics.json").read_text())
    assert snap["publishable"] is False
    run = verdict_cli(out)
    assert run.returncode == 1 and run.stdout == "not publishable: the data is the built-in sample, not market data\n"
    snap |= {"publishable": True, "publishable_reason": "live data through 2026-01-16"}
    (out / "metrics.json").write_text(json.dumps(snap))
    run = verdict_cli(out)
    assert run.returncode == 0 and run.stdout == "publishable: live data through 2026-01-16\n"
    run = verdict_cli(tmp_path / "nowhere")
    assert run.returncode == 1 and run.stderr.startswith("error: ") and "no readable snapshot" in run.stderr


def test_staleness_is_measured_from_the_data_not_the_as_of_date(universe):
    # A cache-mode build dated today whose core series end a week ago: the as-of date is the
    # wall clock's, the data's end is what the rule measures.
    st = status(rut={"status": "ok", "reason": None, "last": "2026-01-09"},
                spx={"status": "ok", "reason": None, "last": "2026-01-16"})
    got = verdict(universe=universe, data_mode="cache", as_of=FRIDAY, status=st, latest_session=FRIDAY)
    assert got == {"publishable": False,
                   "publishable_reason": "the data ends 2026-01-09, 5 sessions before 2026-01-16 (the limit is 3)"}


def test_the_expected_session_comes_from_the_wall_clock(universe):
    from build_data.policy import expected_session

    friday_evening = pd.Timestamp("2026-01-16 22:00", tz="UTC")
    assert expected_session(universe, friday_evening, None, dt.date(2025, 6, 2)) == FRIDAY
    # An --as-of rebuild is measured against its own date.
    assert expected_session(universe, friday_evening, dt.date(2025, 6, 2), dt.date(2025, 6, 2)) == dt.date(2025, 6, 2)
    # A snapshot dated after the clock's last session: the clock is wrong, never publishable.
    got = verdict(universe=universe, data_mode="live", as_of=FRIDAY, status=status(),
                  latest_session=dt.date(2025, 6, 13))
    assert got["publishable"] is False and "clock is wrong" in got["publishable_reason"]


@pytest.mark.parametrize("now", ["1984-03-01 12:00", "2150-01-01 12:00"])
def test_a_clock_outside_the_calendar_is_one_line(universe, now):
    from build_data.policy import expected_session

    with pytest.raises(BuildError) as err:
        expected_session(universe, pd.Timestamp(now, tz="UTC"), None, FRIDAY)
    assert "outside the XNYS exchange calendar" in str(err.value) and "\n" not in str(err.value)


def test_a_session_is_complete_only_after_the_settle_period():
    close = pd.Timestamp("2026-01-16 21:00", tz="UTC")  # 16:00 in New York
    assert sessions.last_completed_session(close + pd.Timedelta(seconds=30), "XNYS", 15) == dt.date(2026, 1, 15)
    assert sessions.last_completed_session(close + pd.Timedelta(minutes=15), "XNYS", 15) == FRIDAY
    assert sessions.last_completed_session(close + pd.Timedelta(seconds=30), "XNYS", 0) == FRIDAY
    # An early close counts from its own bell: the day after Thanksgiving closes at 13:00.
    early = pd.Timestamp("2025-11-28 18:00", tz="UTC")
    assert sessions.last_completed_session(early + pd.Timedelta(minutes=5), "XNYS", 15) == dt.date(2025, 11, 26)
    assert sessions.last_completed_session(early + pd.Timedelta(minutes=16), "XNYS", 15) == dt.date(2025, 11, 28)
