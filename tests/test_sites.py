"""Sites as folders: the scaffold, --site, and where each path of a site comes from."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from build_data import scaffold, site
from build_data.errors import BuildError, ConfigError

REPO = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "build_data", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_the_default_site_is_the_root_and_names_its_paths_in_mkdocs_yml():
    s = site.load()
    assert s.root == REPO and s.is_default
    assert s.docs == REPO / "docs" and s.out == REPO / "docs" / "generated"
    assert s.config == REPO / "build_data" / "universe.yml" and s.facts == REPO / "build_data" / "facts.yml"
    assert s.cache == REPO / ".cache" / "market-data" and s.built == REPO / "site"


def test_a_folder_without_mkdocs_yml_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match=r"no mkdocs.yml, so not a site folder .*build_data new"):
        site.load(tmp_path)
    run = cli("list", "--site", str(tmp_path))
    assert run.returncode == 1 and run.stderr.count("\n") == 1 and str(tmp_path) in run.stderr


def test_new_writes_a_whole_site_with_paths_back_to_the_engine(tmp_path):
    files = scaffold.create(tmp_path / "a" / "my-thesis")
    folder = tmp_path / "a" / "my-thesis"
    names = {p.relative_to(folder).as_posix() for p in files}
    assert {"mkdocs.yml", "site.yml", "facts.yml", ".gitignore", "docs/index.md", "docs/case-for.md",
            "docs/case-against.md", "docs/watchlist.md", "docs/changes.md", "docs/methodology.md"} <= names
    conf = site.read_mkdocs(folder / "mkdocs.yml")
    assert conf["site_name"] == "My thesis"
    assert (folder / conf["theme"]["custom_dir"]).resolve() == REPO / "macros" / "theme"
    schema_line = (folder / "site.yml").read_text().splitlines()[0]
    assert (folder / schema_line.split("$schema=")[1]).resolve() == REPO / "build_data" / "site-config.schema.json"
    s = site.load(folder)
    assert s.config == folder / "site.yml" and s.out == folder / "docs" / "generated"
    assert "__" not in "".join(p.read_text() for p in files)  # every placeholder filled
    assert not [p for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]  # no staging folder left


def test_new_refuses_a_folder_that_holds_anything(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(BuildError, match="not empty"):
        scaffold.create(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    run = cli("new", str(tmp_path), "--title", "X")
    assert run.returncode == 1 and "not empty" in run.stderr


def test_new_then_make_site_builds_offline_beside_the_default_site(tmp_path):
    folder = tmp_path / "breadth"
    run = cli("new", str(folder), "--title", "Breadth, checked")
    assert run.returncode == 0, run.stderr
    assert f"make site SITE={folder}" in run.stderr
    made = subprocess.run(["make", "site", f"SITE={folder}", "DATA_ARGS=--source sample"], cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert made.returncode == 0, made.stderr[-3000:]
    home = (folder / "site" / "index.html").read_text(encoding="utf-8")
    assert "Breadth, checked" in home and "SAMPLE DATA" in home
    for page in ("case-for", "case-against", "watchlist", "changes", "methodology"):
        assert (folder / "site" / page / "index.html").is_file(), page
    assert (folder / "docs" / "generated" / "metrics.json").is_file()
    assert not (REPO / "breadth").exists()


def test_a_command_may_follow_the_options(tmp_path):
    """`--config X list` reads as `list --config X`."""
    before = cli("list", "--config", "build_data/universe.yml")
    after = cli("--config", "build_data/universe.yml", "list")
    assert after.returncode == 0, after.stderr
    assert after.stdout == before.stdout and "rut.rsi_14" in after.stdout


def test_if_missing_builds_a_preview_offline_once_then_keeps_the_last_snapshot(tmp_path):
    """What `make serve` runs first: no snapshot and no cache gives the sample, without the network;
    a second call keeps the snapshot it finds."""
    folder = tmp_path / "preview"
    scaffold.create(folder)
    first = cli("--site", str(folder), "--if-missing")
    assert first.returncode == 0, first.stderr
    assert "sample: generating" in first.stderr and "yahoo:" not in first.stderr
    snapshot = folder / "docs" / "generated" / "metrics.json"
    stamp = snapshot.stat().st_mtime_ns
    again = cli("--site", str(folder), "--if-missing")
    assert again.returncode == 0 and f"preview: the last snapshot, {snapshot}" in again.stderr
    assert snapshot.stat().st_mtime_ns == stamp
