"""CPU time the host took away from this machine while a benchmark ran: "steal", from /proc/stat.

On a shared virtual machine the hypervisor can pause the machine's CPUs to run other guests; the
kernel counts that time as steal. A page load timed while a quarter of the CPU was stolen measures
the host, not the page: its tasks stretch, and a stretched task is scored as blocking time. The
Lighthouse bench (tests/tools/lighthouse.py) samples steal alongside each page load, prints it,
and loads the page again when too much was stolen during the load.

Where /proc/stat is missing (not Linux) or has no steal column, nothing is measured: `share` is None.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

Sample = tuple[float, int, int]  # (time.monotonic(), steal jiffies, total jiffies), all CPUs


def cpu_times(line: str) -> tuple[int, int] | None:
    """(steal, total) jiffies from /proc/stat's aggregate `cpu` line; None without a steal column.
    Columns: user nice system idle iowait irq softirq steal [guest guest_nice]; guest time is already
    counted in user and nice, so the total is the sum of the first eight."""
    fields = line.split()
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:9]]
    return values[7], sum(values)


def steal_share(samples: list[Sample], start: float, end: float) -> float | None:
    """The share of all CPU time between `start` and `end` that was stolen, from the last sample at
    or before `start` to the first at or after `end` (so the window is covered, never cut short).
    None when the samples do not cover the window or no CPU time passed."""
    before = [s for s in samples if s[0] <= start]
    after = [s for s in samples if s[0] >= end]
    if not before or not after:
        return None
    (_, steal0, total0), (_, steal1, total1) = before[-1], after[0]
    if total1 <= total0:
        return None
    return (steal1 - steal0) / (total1 - total0)


class StealSampler:
    """Reads /proc/stat every `interval` seconds on a background thread while in use:

        with StealSampler() as sampler:
            ...  # the work being timed
            sampler.share(t0, t1)  # t0, t1 on time.monotonic()
    """

    def __init__(self, path: Path = Path("/proc/stat"), interval: float = 0.05):
        self.path, self.interval = path, interval
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.available = self._read() is not None

    def _read(self) -> Sample | None:
        try:
            with open(self.path) as f:
                times = cpu_times(f.readline())
        except OSError:
            return None
        return None if times is None else (time.monotonic(), *times)

    def _loop(self) -> None:
        while not self._stop.is_set():
            sample = self._read()
            if sample:
                self.samples.append(sample)
            self._stop.wait(self.interval)

    def __enter__(self) -> StealSampler:
        if self.available:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def share(self, start: float, end: float) -> float | None:
        """Stolen share of CPU time in [start, end]; waits for the sample that closes the window."""
        if not self.available:
            return None
        deadline = time.monotonic() + 5 * self.interval + 1
        while (not self.samples or self.samples[-1][0] < end) and time.monotonic() < deadline:
            time.sleep(self.interval)
        return steal_share(list(self.samples), start, end)
