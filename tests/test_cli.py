"""The command line as a user runs it: exit codes, one-line causes, show and list."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from build_data import config
from build_data.compute import keys
from build_data.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def cli(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "build_data", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    run = cli("--source", "sample", "--as-of", "2026-01-16", "--out", str(out),
              "--cache-dir", str(out / "cache"))
    assert run.returncode == 0, run.stderr
    return out, run


def test_build_reports_progress_on_stderr_and_writes_the_snapshot(built):
    out, run = built
    assert run.stdout == ""
    assert "sample: generating 19 symbols" in run.stderr and "wrote" in run.stderr
    snap = json.loads((out / "metrics.json").read_text())
    assert snap["as_of"] == "2026-01-16" and snap["data_mode"] == "sample"
    assert sorted(p.name for p in (out / "charts").glob("*.vl.json"))
    assert (out / "vendor" / "vega-bundle.js").is_file()


def test_show_prints_one_value_and_json(built):
    out, _ = built
    snap = json.loads((out / "metrics.json").read_text())
    run = cli("show", "rut.rsi_14", "--out", str(out))
    assert run.returncode == 0 and float(run.stdout) == snap["metrics"]["rut.rsi_14"]["value"]
    run = cli("show", "rut.ret_ytd", "--json", "--out", str(out))
    entry = json.loads(run.stdout)
    assert entry["key"] == "rut.ret_ytd" and entry["unit"] == "fraction" and entry["source"] == "sample:^RUT"


def test_show_reads_the_snapshot_and_never_builds_one(tmp_path):
    run = cli("show", "rut.close", "--out", str(tmp_path))
    assert run.returncode == 1 and run.stdout == ""
    line = run.stderr.strip()
    assert "\n" not in line and line.startswith(f"error: no snapshot at {tmp_path / 'metrics.json'}: build one first")
    assert "--source sample" in line
    assert not (tmp_path / "metrics.json").exists() and not (tmp_path / "charts").exists()


def test_show_matches_keys_in_any_case(built):
    out, _ = built
    snap = json.loads((out / "metrics.json").read_text())
    run = cli("show", "RUT.Rsi_14", "--json", "--out", str(out))
    assert run.returncode == 0 and json.loads(run.stdout)["key"] == "rut.rsi_14"
    assert json.loads(run.stdout)["value"] == snap["metrics"]["rut.rsi_14"]["value"]


@pytest.mark.parametrize("typo, command", [("shwo", "show"), ("lsit", "list"), ("biuld", "build")])
def test_a_mistyped_command_gets_did_you_mean(typo, command):
    run = cli(typo, "rut.close")
    assert run.returncode == 2 and run.stderr.strip() == f"error: unknown command {typo!r}; did you mean `{command}`?"


def test_top_level_help_shows_the_build_options_and_the_commands():
    out = cli("--help").stdout
    for flag in ("--source", "--as-of", "--data-dir", "--out", "--cache-dir", "--verbose"):
        assert flag in out, flag
    assert "show" in out and "list" in out


def test_expired_facts_are_one_summary_line_and_listed_with_verbose(tmp_path):
    args = ["--source", "sample", "--as-of", "2026-11-20", "--out", str(tmp_path), "--cache-dir", str(tmp_path / "c")]
    quiet, loud = cli(*args), cli(*args, "-v")
    assert quiet.returncode == 0 and loud.returncode == 0
    snap = json.loads((tmp_path / "metrics.json").read_text())
    expired = [k for k, f in snap["facts"].items() if f["expired"]]
    assert len(expired) > 1
    assert f"warning: {len(expired)} facts are past their maximum age (-v lists them)" in quiet.stderr
    assert "fact '" not in quiet.stderr
    assert all(f"fact {k!r} is " in loud.stderr for k in expired)
    # No dependency chatter on a first run.
    assert "Warning" not in quiet.stderr


def test_unknown_key_exits_non_zero_with_suggestions(built):
    out, _ = built
    run = cli("show", "rut.rsi14", "--out", str(out))
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1].startswith("error: unknown metric key 'rut.rsi14'; did you mean rut.rsi_14")


def test_list_prints_every_key_with_unit_and_label(sample_snapshot):
    """From the catalog and config alone, the same keys, units and labels a build writes."""
    run = cli("list")
    assert run.returncode == 0
    listed = {line[:40].strip(): (line[41:55].strip(), line[56:]) for line in run.stdout.splitlines()}
    written = {k: (m["unit"], m["label"]) for k, m in sample_snapshot["metrics"].items()}
    assert listed == written
    assert listed["rut.rsi_14"] == ("index", "Russell 2000 RSI-14")
    patterns = cli("list", "--patterns").stdout
    assert "X.rsi_14" in patterns and "A_vs_B.outperf_streak" in patterns


def test_show_and_list_import_nothing_of_the_pipeline(built):
    """What makes them answer at once: no pandas, yfinance or altair import."""
    out, _ = built
    probe = ("import sys\nfrom build_data.__main__ import main\nmain(sys.argv[1:])\n"
             "print(sorted({'pandas', 'yfinance', 'altair', 'numpy'} & set(sys.modules)), file=sys.stderr)")
    for args in (["show", "rut.close", "--out", str(out)], ["list"], ["list", "--patterns"], ["list", "--charts"]):
        run = subprocess.run([sys.executable, "-c", probe, *args], cwd=REPO, capture_output=True, text=True)
        assert run.stderr.strip().splitlines()[-1] == "[]", (args, run.stderr)


def test_bad_date_and_missing_data_dir_fail_with_one_line():
    run = cli("--as-of", "2026-13-01")
    assert run.returncode == 2 and "not a date" in run.stderr
    run = cli("--source", "csv")
    assert run.returncode == 1 and "--source csv needs --data-dir" in run.stderr


def test_bad_config_names_the_file_and_the_field(tmp_path):
    raw = yaml.safe_load(config.DEFAULT_UNIVERSE.read_text())
    del raw["symbols"]["rut"]["ticker"]
    bad = tmp_path / "universe.yml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"universe\.yml: symbols\.rut\.ticker: Field required"):
        keys.load_universe(bad)
    raw = yaml.safe_load(config.DEFAULT_UNIVERSE.read_text())
    raw["pairs"]["rut_vs_spx"]["b"] = "sp500"
    bad.write_text(yaml.safe_dump(raw))
    run = cli("--source", "sample", "--config", str(bad), "--out", str(tmp_path / "o"))
    assert run.returncode == 1
    assert "universe.yml" in run.stderr and "pairs.rut_vs_spx: unknown symbol alias 'sp500'; closest: spx" in run.stderr
    bad.write_text("symbols: [unclosed")
    # The message quotes the line that does not parse, with a caret under the place.
    with pytest.raises(ConfigError, match=r"universe.yml: not valid YAML: .*line 1, column 10: symbols: \[unclosed \^"):
        keys.load_universe(bad)


def test_the_fast_yaml_parser_reads_what_the_pure_python_one_reads():
    """Config files are parsed by libyaml when PyYAML has it; the values are the same to the bit."""
    assert config._FastUniqueKeyLoader.__mro__[2] is getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in (config.DEFAULT_UNIVERSE, config.DEFAULT_FACTS):
        text = path.read_text(encoding="utf-8")
        fast, slow = yaml.load(text, Loader=config._FastUniqueKeyLoader), yaml.load(text, Loader=config._UniqueKeyLoader)
        assert json.dumps(fast, sort_keys=True, default=str) == json.dumps(slow, sort_keys=True, default=str)


def test_bad_facts_file_names_the_field(tmp_path):
    bad = tmp_path / "facts.yml"
    bad.write_text(yaml.safe_dump({"facts": {"x": {"text": "t", "source": "s", "date": "2026-01-01"}}}))
    with pytest.raises(ConfigError, match=r"facts\.yml: facts\.x\.max_age_days: Field required"):
        config.load_facts(bad)


def test_facts_keep_the_decimals_their_yaml_writes(tmp_path):
    # The YAML as written, not the float: "0.610" is published to a tenth of a point, "0.61" to a point.
    path = tmp_path / "facts.yml"
    base = 'text: t\n    source: s\n    date: "2026-01-01"\n    max_age_days: 30'
    path.write_text("facts:\n"
                    f"  eps:\n    value: 0.61\n    unit: fraction\n    {base}\n"
                    f"  eps_tenth:\n    value: 0.610\n    unit: fraction\n    {base}\n"
                    f"  pe:\n    value: 33\n    unit: multiple\n    {base}\n"
                    f"  pe_set:\n    value: 33\n    unit: multiple\n    decimals: 1\n    {base}\n"
                    f"  quote:\n    {base}\n")
    facts = config.load_facts(path).facts
    assert {k: v.decimals for k, v in facts.items()} == {"eps": 0, "eps_tenth": 1, "pe": 0, "pe_set": 1, "quote": None}
    bad = tmp_path / "bad.yml"
    bad.write_text(path.read_text().replace("decimals: 1", "decimals: -1"))
    with pytest.raises(ConfigError, match=r"bad\.yml: facts\.pe_set\.decimals: Input should be greater than or equal to 0"):
        config.load_facts(bad)


def test_build_reports_claims_that_no_longer_hold_and_what_flipped(tmp_path):
    args = ["--source", "sample", "--out", str(tmp_path), "--cache-dir", str(tmp_path / "cache")]
    first = cli(*args, "--as-of", "2025-06-02")
    assert first.returncode == 0
    assert "claims: " in first.stderr and " of 13 hold" in first.stderr
    assert "changed since the last build" not in first.stderr
    snap_before = json.loads((tmp_path / "metrics.json").read_text())
    second = cli(*args, "--as-of", "2026-01-16")
    snap_after = json.loads((tmp_path / "metrics.json").read_text())
    flipped = [cid for cid, c in snap_after["claims"].items() if c["holds"] != snap_before["claims"][cid]["holds"]]
    assert flipped, "the two dates should disagree on at least one claim"
    for cid in flipped:
        assert f"changed since the last build (2025-06-02): {cid!r}" in second.stderr
    for cid, c in snap_after["claims"].items():
        assert (f"no longer holds: {c['page']} claim {cid!r}" in second.stderr) == (c["holds"] is False)


def test_header_only_price_file_is_a_one_line_error(tmp_path):
    """The only price file is header-only: its series is rejected, and with nothing left the build
    stops in one line naming the file and the problem (a bad file beside good ones rejects only its
    own series: tests/test_source_csv.py)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "^RUT.csv").write_text("Date,Open,High,Low,Close,Adj Close,Volume\n")
    run = cli("--source", "csv", "--data-dir", str(data), "--out", str(tmp_path / "out"))
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1] == (f"error: --data-dir {data}: no usable price file; "
                                                    f"{data / '^RUT.csv'}: no price rows (only a header)")


@pytest.mark.parametrize("as_of", ["1900-01-02", "2199-06-01"])
def test_as_of_outside_the_exchange_calendar_is_a_one_line_error(tmp_path, as_of):
    run = cli("--source", "sample", "--as-of", as_of, "--out", str(tmp_path))
    assert run.returncode == 1 and "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: --as-of {as_of}: outside the XNYS exchange calendar (")


def test_unknown_calendar_names_the_field_and_the_nearest_names(tmp_path):
    bad = tmp_path / "universe.yml"
    bad.write_text(config.DEFAULT_UNIVERSE.read_text().replace("calendar: XNYS", "calendar: XNYZ"))
    run = cli("--source", "sample", "--config", str(bad), "--out", str(tmp_path / "o"))
    assert run.returncode == 1 and "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {bad}: calendar: ") and "unknown exchange calendar 'XNYZ'" in last
    assert "XNYS" in last


def test_duplicate_yaml_keys_are_rejected_naming_the_key_and_both_lines(tmp_path):
    text = config.DEFAULT_UNIVERSE.read_text()
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("  spx:")) + 1
    ndx = next(i for i, line in enumerate(lines) if line.startswith("  ndx:"))
    lines[ndx] = "  spx:"  # a second spx entry (it would silently hold the Nasdaq-100's ticker)
    bad = tmp_path / "universe.yml"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as err:
        keys.load_universe(bad)
    assert str(err.value) == f"{bad}: line {ndx + 1}: duplicate key 'spx' (first defined on line {first})"
    facts = tmp_path / "facts.yml"
    facts.write_text("facts:\n  a: {text: t, source: s, date: 2026-01-01, max_age_days: 9}\n"
                     "  a: {text: u, source: s, date: 2026-01-01, max_age_days: 9}\n")
    run = cli("--source", "sample", "--facts", str(facts), "--out", str(tmp_path / "o"))
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == f"error: {facts}: line 3: duplicate key 'a' (first defined on line 2)"


def test_unknown_field_is_named_as_unknown_not_as_another_missing(tmp_path):
    raw = yaml.safe_load(config.DEFAULT_UNIVERSE.read_text())
    raw["symbols"]["rut"]["tickr"] = raw["symbols"]["rut"].pop("ticker")
    bad = tmp_path / "universe.yml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as err:
        keys.load_universe(bad)
    assert str(err.value) == f"{bad}: symbols.rut: unknown field 'tickr'; did you mean 'ticker'? (and 1 more)"


def test_full_disk_is_a_one_line_error_and_the_old_output_stays(tmp_path):
    """RLIMIT_FSIZE in the child makes writes past a few kB fail with EFBIG, as a full disk would."""
    out = tmp_path / "out"
    args = ["--source", "sample", "--as-of", "2026-01-16", "--out", str(out), "--cache-dir", str(tmp_path / "c")]
    assert cli(*args).returncode == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            "resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000)); "
            "from build_data.__main__ import main; sys.exit(main(sys.argv[1:]))")
    run = subprocess.run([sys.executable, "-c", code, *args[:3], "2026-01-15", *args[4:]], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("error: ") and "File too large" in run.stderr
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before


def test_schema_prints_the_site_config_schema_and_write_refreshes_the_file(tmp_path):
    from build_data import schema

    run = subprocess.run([sys.executable, "-m", "build_data", "schema"], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout == schema.schema_text() == schema.SCHEMA_FILE.read_text(encoding="utf-8")
    assert json.loads(run.stdout)["properties"]["claims"]["additionalProperties"] == {"$ref": "#/$defs/Claim"}
    target = schema.write(tmp_path / "site-config.schema.json")
    assert target.read_text(encoding="utf-8") == run.stdout


def test_the_process_ends_with_its_output_whole_and_its_exit_code(capsys):
    """`python -m build_data` exits without tearing its heap down (`run`): what it printed to a
    pipe still arrives in full, and its exit code is main()'s."""
    from build_data.__main__ import main

    assert main(["list"]) == 0
    expected = capsys.readouterr().out
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout to a pipe is block-buffered
    run = subprocess.run([sys.executable, "-m", "build_data", "list"], cwd=REPO, env=env, capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout == expected and len(expected) > 8192  # more than one buffer
    run = cli("show", "no.such_key", "--out", str(REPO / "no-such-folder"))
    assert run.returncode == 1 and run.stderr.startswith("error: ")
