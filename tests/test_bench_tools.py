"""The bench's own arithmetic: what `make bench` prints must come from a tested mapping."""
from __future__ import annotations

import json
import threading

import pytest

from tests.tools.hoststeal import StealSampler, cpu_times, steal_share
from tests.tools.lighthouse import calibrated_slowdown, load_window, median_run, quiet_loads


@pytest.mark.parametrize(("index", "slowdown"), [(2000, 6.0), (1533, 4.0), (1300, 3.0), (1050, 2.5), (800, 2.0),
                                                  (150, 1.0), (60, 1.0)])
def test_cpu_slowdown_is_calibrated_to_the_host_as_lighthouse_documents(index, slowdown):
    # Lighthouse's throttling guide: 4x turns a host with a benchmark index near 1,533 into its
    # mid-tier phone; a slower host needs less slowdown to emulate the same phone, never below 1x.
    assert calibrated_slowdown(index) == pytest.approx(slowdown, abs=0.01)


def test_the_printed_run_is_the_median_by_performance_score():
    runs = [{"performance": p, "run": i} for i, p in enumerate([91, 97, 88])]
    assert median_run(runs)["run"] == 0  # 88, 91, 97: the middle one
    assert median_run(runs[:2])["performance"] == 91  # an even count takes the lower middle
    assert median_run(runs[:1])["performance"] == 91


def test_the_bench_server_stays_quiet_when_the_browser_drops_a_request(tmp_path, capfd):
    """Lighthouse closes connections it no longer needs at the end of a page load: the bench's
    server must not print a traceback into `make bench` for that."""
    import functools
    import os
    import socket
    import threading
    from http.server import ThreadingHTTPServer

    from tests.tools.lighthouse import GzipHandler

    (tmp_path / "big.bin").write_bytes(os.urandom(16 * 1024 * 1024))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(GzipHandler, directory=str(tmp_path)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        client = socket.create_connection(httpd.server_address)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        client.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        assert client.recv(64).startswith(b"HTTP/1.0 200")
        client.close()  # reset, with most of the 16 MB unsent
        for _ in range(50):  # until the handler thread has run into the reset
            if threading.active_count() <= 2:
                break
            threading.Event().wait(0.1)
    finally:
        httpd.shutdown()
        httpd.server_close()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "BrokenPipe" not in err and "ConnectionReset" not in err, err


def test_steal_is_read_from_the_aggregate_cpu_line_of_proc_stat():
    # user nice system idle iowait irq softirq steal guest guest_nice (Linux 2.6.33+)
    assert cpu_times("cpu  4590233 118630 465966 4757219 28177 0 27916 905001 0 0") == \
        (905001, 4590233 + 118630 + 465966 + 4757219 + 28177 + 27916 + 905001)
    # guest time is already counted in user: not added twice
    assert cpu_times("cpu  100 0 0 100 0 0 0 50 40 0") == (50, 250)
    assert cpu_times("cpu0 100 0 0 100 0 0 0 50 0 0") is None  # one CPU's line, not the total
    assert cpu_times("cpu  100 0 0 100 0 0 0") is None  # a kernel without the steal column


def test_the_stolen_share_covers_the_whole_window():
    samples = [(0.0, 0, 0), (1.0, 10, 200), (2.0, 70, 400), (3.0, 70, 600)]
    assert steal_share(samples, 1.0, 2.0) == pytest.approx(60 / 200)
    # a window between samples is widened to the samples around it, never cut short
    assert steal_share(samples, 1.5, 2.5) == pytest.approx(60 / 400)
    assert steal_share(samples, 0.5, 3.0) == pytest.approx(70 / 600)
    assert steal_share(samples, -1.0, 2.0) is None  # starts before the first sample
    assert steal_share(samples, 1.0, 3.5) is None  # ends after the last
    assert steal_share([(0.0, 5, 100), (1.0, 5, 100)], 0.0, 1.0) is None  # no CPU time passed


def test_the_sampler_measures_steal_from_the_file_it_watches(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  1000 0 0 1000 0 0 0 0 0 0\ncpu0 1000 0 0 1000 0 0 0 0 0 0\n")
    with StealSampler(stat, interval=0.01) as sampler:
        assert sampler.available
        while not sampler.samples:
            threading.Event().wait(0.01)
        start = sampler.samples[-1][0]
        stat.write_text("cpu  1050 0 0 1020 0 0 0 30 0 0\n")  # 100 jiffies later, 30 of them stolen
        while sampler.samples[-1][1] != 30:
            threading.Event().wait(0.01)
        end = sampler.samples[-1][0]
        assert sampler.share(start, end) == pytest.approx(0.3)
    assert StealSampler(tmp_path / "missing").share(0.0, 1.0) is None
    stat.write_text("cpu  1000 0 0 1000 0 0 0\n")
    assert not StealSampler(stat).available


def test_the_load_window_is_the_pages_navigation_to_the_traces_last_event():
    url = "http://127.0.0.1:8765/"
    events = [
        {"name": "navigationStart", "ts": 2_000_000, "args": {"data": {"documentLoaderURL": ""}}},
        {"name": "navigationStart", "ts": 1_500_000, "args": {"data": {"documentLoaderURL": url}}},
        {"name": "RunTask", "ts": 3_000_000, "dur": 250_000},
        {"name": "TracingStartedInBrowser", "ts": 1_000_000},
        {"name": "metadata"},
    ]
    assert load_window(events, url) == (1.5, 3.25)
    assert load_window(events[2:], url) is None


def test_loads_with_too_much_steal_are_set_aside_and_the_least_disturbed_fill_in():
    loads = [{"run": i, "steal": s} for i, s in enumerate([0.01, 0.20, 0.0, None, 0.08, 0.03])]
    used, aside = quiet_loads(loads, 4, 0.05)
    assert [x["run"] for x in used] == [0, 2, 3, 5]  # no steal figure counts as quiet
    assert [x["run"] for x in aside] == [4, 1]
    used, aside = quiet_loads(loads[:3], 3, 0.05)  # too few quiet loads: the least stolen fills in
    assert [x["run"] for x in used] == [0, 2, 1] and aside == []
    used, aside = quiet_loads(loads[:3], 2, 0.05)
    assert [x["run"] for x in used] == [0, 2] and [x["run"] for x in aside] == [1]
    used, aside = quiet_loads(loads, 6, None)  # --max-steal off: every load counts
    assert used == loads and aside == []


def test_the_lighthouse_bench_builds_the_real_site_at_the_served_origin(tmp_path):
    """The Lighthouse bench scores a scratch copy of the real site (build_data.scratch), built for
    the address its server listens on, with the data options it is given."""
    from tests.tools.lighthouse import build_site

    origin = "http://127.0.0.1:8765/"
    site = build_site(tmp_path / "site0", origin, ["--source", "sample", "--as-of", "2026-02-27"])
    assert site == tmp_path / "site0" / "site"
    for page in ("index.html", "bull-case/index.html", "methodology/index.html", "authoring/index.html"):
        assert (site / page).is_file(), page
    html = (site / "index.html").read_text(encoding="utf-8")
    assert f'<link rel="canonical" href="{origin}">' in html
    assert json.loads((site / "generated" / "metrics.json").read_text())["as_of"] == "2026-02-27"


def test_a_failed_lighthouse_build_stops_the_bench_with_one_line(tmp_path):
    from tests.tools.lighthouse import build_site

    with pytest.raises(SystemExit) as stop:
        build_site(tmp_path / "site0", "http://127.0.0.1:8765/", ["--source", "csv", "--data-dir", str(tmp_path / "none")])
    message = str(stop.value)
    assert message.startswith("lighthouse bench: data build failed: ") and "\n" not in message


def test_the_incremental_bench_runs_a_daily_fetch_that_writes_only_new_rows(capsys):
    """`make bench`'s daily run on a small universe (the default's 19 symbols and 6 generated): a
    full run fills the cache, the next session's run is timed, and what it wrote to the cache is a
    tail per ticker, not the ten-year histories."""
    from tests.tools import bench

    wall, peak, written = bench.bench_incremental(25)
    out = capsys.readouterr().out
    assert "25 symbols, daily incremental run:" in out and "MB written" in out
    assert wall > 0 and peak > 50
    # 25 tails of at most TAIL_ROWS rows (a few KB each) and the macro files; the full histories
    # are ~25 x 2,500 rows (about 3 MB).
    assert 0 < written < 0.6 * 2**20, written
