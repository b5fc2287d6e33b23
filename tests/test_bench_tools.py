"""The bench's own arithmetic: what `make bench` prints must come from a tested mapping."""
from __future__ import annotations

import pytest

from build_data.tools.lighthouse import calibrated_slowdown, median_run


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
