"""One build, one output: kills, concurrent builds and leftovers never leave a mixed folder."""
from __future__ import annotations

import copy
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def start(out: Path, cache: Path, as_of: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "build_data", "--source", "sample", "--as-of", as_of,
                             "--out", str(out), "--cache-dir", str(cache), *extra],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(out: Path, cache: Path, as_of: str, *extra: str) -> subprocess.CompletedProcess:
    proc = start(out, cache, as_of, *extra)
    stdout, stderr = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def charts(tree: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in tree.items() if k.startswith("charts/") and k.endswith(".vl.json")}


def whole(tree: dict[str, bytes], reference: dict[str, bytes]) -> bool:
    """`tree` is one complete build equal to `reference` (built_at and feed times aside)."""
    if set(tree) != set(reference) or charts(tree) != charts(reference):
        return False
    snap, ref = json.loads(tree["metrics.json"]), json.loads(reference["metrics.json"])
    return snap["as_of"] == ref["as_of"] and snap["metrics"] == ref["metrics"]


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """Two complete outputs (as of two different sessions) to compare every state against."""
    root = tmp_path_factory.mktemp("refs")
    refs = {}
    for as_of in ("2026-01-15", "2026-01-16"):
        done = run(root / as_of, root / "cache", as_of)
        assert done.returncode == 0, done.stderr
        refs[as_of] = files(root / as_of)
    assert json.loads(refs["2026-01-15"]["metrics.json"])["as_of"] == "2026-01-15"
    return refs


def test_a_build_killed_at_random_points_leaves_the_old_output_or_the_new_one(tmp_path, references):
    out, cache = tmp_path / "generated", tmp_path / "cache"
    assert run(out, cache, "2026-01-15").returncode == 0
    rng = random.Random(7)
    outcomes = []
    for _ in range(4):
        proc = start(out, cache, "2026-01-16")
        time.sleep(rng.uniform(1.0, 8.0))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        tree = files(out)
        old, new = whole(tree, references["2026-01-15"]), whole(tree, references["2026-01-16"])
        assert old or new, f"mixed output after a kill: {sorted(tree)[:5]}"
        outcomes.append("new" if new else "old")
        if new:  # start the next round from the old output again
            assert run(out, cache, "2026-01-15").returncode == 0
    # The next build cleans up after the killed ones and succeeds.
    done = run(out, cache, "2026-01-16")
    assert done.returncode == 0, done.stderr
    assert whole(files(out), references["2026-01-16"])
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".generated.") and p.is_dir()] == []
    print("kill outcomes:", outcomes)


def test_concurrent_builds_take_turns_and_leave_one_whole_output(tmp_path, references):
    out, cache = tmp_path / "generated", tmp_path / "cache"
    procs = [start(out, cache, as_of) for as_of in ("2026-01-15", "2026-01-16", "2026-01-15")]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    assert [r[2] for r in results] == [0, 0, 0], [r[1][-300:] for r in results]
    tree = files(out)
    assert whole(tree, references["2026-01-15"]) or whole(tree, references["2026-01-16"])


def test_a_second_build_gives_up_after_its_wait_naming_the_first_builds_pid(tmp_path):
    out, cache = tmp_path / "generated", tmp_path / "cache"
    first = start(out, cache, "2026-01-16")
    pid_file = tmp_path / ".generated.lock.pid"
    for _ in range(600):
        if pid_file.exists() or first.poll() is not None:
            break
        time.sleep(0.05)
    assert pid_file.exists(), "the first build never took the lock"
    second = run(out, cache, "2026-01-16", "--lock-timeout", "0.2")
    first.communicate(timeout=300)
    assert first.returncode == 0
    assert second.returncode == 1
    tail = f": another build (pid {first.pid}) is using this folder; gave up after waiting 0.2s"
    assert second.stderr.strip().splitlines()[-1] in (f"error: {cache}{tail}", f"error: {out}{tail}")


def test_leftovers_of_killed_builds_are_removed_and_an_interrupted_swap_is_undone(tmp_path, references):
    out, cache = tmp_path / "generated", tmp_path / "cache"
    assert run(out, cache, "2026-01-15").returncode == 0
    # What a build killed between its two renames, mid-render and mid-write would leave behind.
    os.rename(out, tmp_path / ".generated.old-99999")
    (tmp_path / ".generated.staging-99998" / "charts").mkdir(parents=True)
    (cache / "prices").mkdir(parents=True, exist_ok=True)
    (cache / "prices" / ".^RUT.csv.abc123.tmp").write_text("half a file")
    done = run(out, cache, "2026-01-15")
    assert "restored" in done.stderr and "removed .generated.staging-99998" in done.stderr
    assert "removed 1 temporary file(s)" in done.stderr
    assert whole(files(out), references["2026-01-15"])
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".generated.")) == [".generated.lock"]
    assert not list(cache.rglob("*.tmp"))


def test_the_real_site_builds_strictly_right_after_a_killed_data_build(tmp_path):
    from tests.test_real_site import real_site

    site, run, _ = real_site(tmp_path / "s", ["--source", "sample", "--as-of", "2026-01-15"])
    assert run.returncode == 0, run.stdout + run.stderr
    docs = tmp_path / "s" / "docs"
    proc = start(docs / "generated", tmp_path / "s" / "cache", "2026-01-16")
    time.sleep(random.Random(3).uniform(2.0, 6.0))
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    # Whatever the kill left beside the output (a staging folder, the lock file) is hidden from MkDocs.
    run = site.build()
    assert run.returncode == 0, run.stdout + run.stderr
    snap = json.loads((docs / "generated" / "metrics.json").read_text())
    assert snap["as_of"] in ("2026-01-15", "2026-01-16")


def test_a_rebuild_keeps_unchanged_charts_and_redraws_changed_ones(tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    drawn = lambda folder: {k: v for k, v in files(folder).items() if k.startswith("charts/")}  # noqa: E731
    first = run(out, cache, "2026-01-15")
    assert first.returncode == 0, first.stderr
    before = drawn(out)
    again = run(out, cache, "2026-01-15")
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("unchanged, kept") == 7
    # Each drawn chart's entry carries its SVG's size, so a page reserves the space without reading files.
    snap = json.loads((out / "metrics.json").read_text())
    for cid, entry in snap["charts"].items():
        if entry.get("svg"):
            root = re.search(r"<svg[^>]*>", (out / entry["svg"]).read_text()).group(0)
            size = [round(float(re.search(rf' {name}="([\d.]+)"', root).group(1))) for name in ("width", "height")]
            assert size == [entry["width"], entry["height"]], cid
    assert drawn(out) == before  # the same bytes: copied, not redrawn
    later = run(out, cache, "2026-01-16")
    assert later.returncode == 0, later.stderr
    assert "unchanged, kept" not in later.stderr.split("chart macro-panel")[0]
    after = drawn(out)
    assert after["charts/performance-ytd.svg"] != before["charts/performance-ytd.svg"]


def test_a_chart_entry_naming_a_file_that_was_not_written_fails_the_build(tmp_path):
    from build_data.errors import BuildError
    from build_data.publish import render
    from tests.site_fixtures import chart_fixture_dir, load_fixture_snapshot

    (tmp_path / "charts").mkdir()
    for p in chart_fixture_dir().iterdir():
        (tmp_path / "charts" / p.name).write_bytes(p.read_bytes())
    snap = load_fixture_snapshot()
    for entry in snap["charts"].values():
        del entry["width"], entry["height"]
    text = render.with_chart_files(tmp_path, json.dumps(snap), vendor=False)
    # The build hands over the dict itself (checked once, here): the same text, the dict left as it was.
    given = copy.deepcopy(snap)
    assert render.with_chart_files(tmp_path, given, vendor=False) == text and given == snap
    sized = json.loads(text)
    # Read from the SVG: fitted to the 688 px text column.
    assert (sized["charts"]["rsi"]["width"], sized["charts"]["rsi"]["height"]) == (688, 236)
    for missing in ("rsi.dark.svg", "rsi.csv"):  # the dark drawing is checked like the others
        (tmp_path / "charts" / missing).unlink()
        with pytest.raises(BuildError, match=rf"^chart rsi: charts/{missing} not written"):
            render.with_chart_files(tmp_path, json.dumps(snap), vendor=False)
        (tmp_path / "charts" / missing).write_bytes((chart_fixture_dir() / missing).read_bytes())
    with pytest.raises(BuildError, match="vendor/vega-bundle.js"):
        render.with_chart_files(tmp_path, json.dumps(snap), vendor=True)
