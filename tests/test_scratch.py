"""The scratch-site builder (build_data/scratch.py): a throwaway copy of a site folder that builds
with `python -m build_data` and `mkdocs build --strict` from anywhere, for the default site and for
a site folder elsewhere whose mkdocs.yml names its theme relative to itself."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from build_data import scratch
from build_data import site as sites
from build_data.errors import BuildError
from build_data.site import ROOT


def read_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def second_site(folder: Path) -> Path:
    """A site folder outside the project, as `python -m build_data new` lays one out: its own
    mkdocs.yml with the theme named relative to the folder, the macros loaded as a module on the
    path, its pages in pages/, its output in pages/data/, its own site.yml and facts.yml."""
    conf = sites.read_mkdocs(ROOT / "mkdocs.yml")
    conf["site_name"] = "A second site"
    conf["docs_dir"] = "pages"
    conf["theme"]["custom_dir"] = os.path.relpath(ROOT / "macros" / "theme", folder)
    macros = next(p["macros"] for p in conf["plugins"] if isinstance(p, dict) and "macros" in p)
    macros.pop("module_name")
    macros["modules"] = ["macros"]
    conf["watch"] = [os.path.relpath(ROOT / "macros", folder)]
    conf["extra"] = {"snapshot": "data/metrics.json", "generator": False}
    folder.mkdir(parents=True)
    (folder / "mkdocs.yml").write_text(yaml.safe_dump(conf, sort_keys=False), encoding="utf-8")
    shutil.copytree(ROOT / "docs", folder / "pages", ignore=shutil.ignore_patterns("generated", ".generated*"))
    for page in (folder / "pages").glob("*.md"):  # links to the output follow it into data/
        page.write_text(page.read_text(encoding="utf-8").replace("generated/", "data/"), encoding="utf-8")
    universe = (ROOT / "build_data" / "universe.yml").read_text(encoding="utf-8")
    assert '"Russell 2000"' in universe
    (folder / "site.yml").write_text(universe.replace('"Russell 2000"', '"Russell Two Thousand"', 1), encoding="utf-8")
    shutil.copy2(ROOT / "build_data" / "facts.yml", folder / "facts.yml")
    # What its own last build and a killed build left in its pages: never part of a copy.
    (folder / "pages" / "data").mkdir()
    (folder / "pages" / "data" / "metrics.json").write_text("{stale", encoding="utf-8")
    (folder / "pages" / ".data.lock").write_text("", encoding="utf-8")
    (folder / "pages" / ".data.staging-1").mkdir()
    (folder / "pages" / "img").mkdir()
    (folder / "pages" / "img" / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>", encoding="utf-8")
    return folder


def build(sc: scratch.ScratchSite, tmp: Path, as_of: str = "2026-01-16") -> subprocess.CompletedProcess:
    data = sc.build_data("--source", "sample", "--as-of", as_of, "--cache-dir", str(tmp / "cache"), timeout=300)
    assert data.returncode == 0, data.stderr
    return sc.mkdocs_build(tmp / "built", timeout=300)


@pytest.fixture(scope="module")
def default_copy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scratch-default")
    sc = scratch.scratch_site(tmp / "s", pages={"extra-page.md": "# Extra\n\nClose: {{ metric(\"rut.close\") }}.\n"})
    run = build(sc, tmp)
    return sc, tmp, run


@pytest.fixture(scope="module")
def second_copy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scratch-second")
    folder = second_site(tmp / "sites" / "second")
    cwd = Path.cwd()
    os.chdir(tmp)  # the builder runs from the engine's folder, whatever the caller's
    try:
        sc = scratch.scratch_site(tmp / "s", sites.load(folder))
        run = build(sc, tmp)
    finally:
        os.chdir(cwd)
    return sc, tmp, folder, run


def test_a_copy_of_the_default_site_builds_strictly(default_copy):
    sc, tmp, run = default_copy
    assert run.returncode == 0, run.stderr
    assert (sc.root / "mkdocs.base.yml").read_bytes() == (ROOT / "mkdocs.yml").read_bytes()
    assert (sc.root / "macros").resolve() == ROOT / "macros"
    conf = read_yaml(sc.mkdocs_yml)
    assert conf["INHERIT"] == "mkdocs.base.yml"
    assert conf["docs_dir"] == str(sc.docs) and Path(conf["docs_dir"]).is_absolute()
    assert conf["theme"] == {"custom_dir": str(ROOT / "macros" / "theme")}
    assert conf["extra"] == {"snapshot": "generated/metrics.json", "site_config": str(ROOT / "build_data" / "universe.yml"),
                             "site_facts": str(ROOT / "build_data" / "facts.yml")}
    # The data build wrote into the copy's pages, not the project's.
    assert sc.out == sc.docs / "generated" and json.loads(sc.snapshot.read_text())["as_of"] == "2026-01-16"
    built = tmp / "built"
    for page in ("index.html", "bull-case/index.html", "methodology/index.html", "authoring/index.html"):
        assert (built / page).is_file(), page
    extra = (built / "extra-page" / "index.html").read_text()
    assert 'data-key="rut.close"' in extra
    assert 'class="data-banner' in extra  # the theme override (custom_dir) is in effect
    # Seen as a site folder, the copy names the original's config and facts and its own pages.
    copy = sites.load(sc.root)
    assert (copy.docs, copy.out, copy.config, copy.facts) == (sc.docs, sc.out, ROOT / "build_data" / "universe.yml",
                                                               ROOT / "build_data" / "facts.yml")


def test_a_site_folder_with_a_relative_theme_and_macros_as_a_module_builds_strictly(second_copy):
    sc, tmp, folder, run = second_copy
    assert run.returncode == 0, run.stderr
    assert read_yaml(folder / "mkdocs.yml")["theme"]["custom_dir"].startswith("..")
    conf = read_yaml(sc.mkdocs_yml)
    assert conf["theme"]["custom_dir"] == str(ROOT / "macros" / "theme")
    assert conf["watch"] == [str(ROOT / "macros")]
    assert conf["extra"] == {"snapshot": "data/metrics.json", "site_config": str(folder / "site.yml"),
                             "site_facts": str(folder / "facts.yml")}
    assert sc.out == sc.docs / "data"
    assert not (sc.docs / ".data.staging-1").exists() and (sc.docs / "img" / "logo.svg").is_file()
    # The data build used the site's own config, and left the site's folder alone.
    snap = sc.snapshot.read_text()
    assert "Russell Two Thousand" in snap
    assert (folder / "pages" / "data" / "metrics.json").read_text() == "{stale"
    html = (tmp / "built" / "index.html").read_text()
    assert "A second site" in html and 'class="data-banner' in html and 'data-key="' in html
    assert (tmp / "built" / "data" / "metrics.json").is_file()


def test_overrides_merge_into_the_scratch_config_and_variants_inherit_it(tmp_path):
    folder = second_site(tmp_path / "second")
    sc = scratch.scratch_site(tmp_path / "s", sites.load(folder), overrides={"site_url": "https://example.org/x/"})
    sc.configure({"extra": {"archive": {"as_of": "2026-01-09"}}, "plugins": ["search"]})
    conf = read_yaml(sc.mkdocs_yml)
    assert conf["site_url"] == "https://example.org/x/" and conf["plugins"] == ["search"]
    assert conf["extra"]["archive"] == {"as_of": "2026-01-09"}
    assert conf["extra"]["site_config"] == str(folder / "site.yml")  # the required keys stay
    assert sc.base_config()["site_name"] == "A second site"
    (tmp_path / "bare").mkdir()
    variant = sc.variant("bare.yml", {"docs_dir": str(tmp_path / "bare")})
    assert read_yaml(variant) == {"INHERIT": "mkdocs.yml", "docs_dir": str(tmp_path / "bare")}
    from mkdocs.config import load_config

    loaded = load_config(config_file=str(variant))
    assert loaded["docs_dir"] == str(tmp_path / "bare") and loaded["site_name"] == "A second site"
    assert loaded["site_url"] == "https://example.org/x/" and loaded["extra"]["archive"] == {"as_of": "2026-01-09"}
    assert loaded["theme"].custom_dir == str(ROOT / "macros" / "theme")


def test_a_copy_leaves_out_the_sites_build_output(tmp_path):
    folder = second_site(tmp_path / "second")
    sc = scratch.scratch_site(tmp_path / "s", sites.load(folder))
    # Neither its last output nor what a killed build left beside it (staging folder, lock).
    assert sorted(p.name for p in sc.docs.iterdir()) == sorted(
        p.name for p in (folder / "pages").iterdir() if p.name not in ("data", ".data.lock", ".data.staging-1"))
    assert (sc.docs / "img" / "logo.svg").is_file() and (sc.docs / "index.md").is_file()


def test_without_its_pages_a_copy_keeps_the_sites_other_files(tmp_path):
    folder = second_site(tmp_path / "second")
    sc = scratch.scratch_site(tmp_path / "s", sites.load(folder), keep_pages=False,
                              pages={"index.md": "# Only\n", "deep/page.md": "# Deep\n"})
    assert sorted(p.relative_to(sc.docs).as_posix() for p in sc.docs.rglob("*") if p.is_file()) == \
        ["deep/page.md", "img/logo.svg", "index.md"]


def test_a_scratch_site_needs_an_empty_folder(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "x").write_text("")
    with pytest.raises(BuildError, match="needs an empty folder"):
        scratch.scratch_site(tmp_path / "s")


def test_failed_builds_are_one_line_errors(default_copy, tmp_path):
    sc, tmp, _ = default_copy
    with pytest.raises(BuildError) as err:
        sc.build_data("--source", "csv", "--data-dir", str(tmp_path / "missing"), "--out", str(tmp_path / "out"),
                      check="week 2026-01-09")
    assert str(err.value).startswith("week 2026-01-09: data build failed: ") and "\n" not in str(err.value)
    bad = sc.docs / "typo.md"
    bad.write_text('# Typo\n\n{{ metric("rut.rsi14") }}\n', encoding="utf-8")
    try:
        with pytest.raises(BuildError) as err:
            sc.mkdocs_build(tmp_path / "built", check="week 2026-01-09", timeout=300)
    finally:
        bad.unlink()
    message = str(err.value)
    assert message.startswith("week 2026-01-09: mkdocs failed: ") and "\n" not in message
    assert "rut.rsi14" in message, message


def test_the_failure_line_is_the_first_error_else_the_last_line():
    run = subprocess.CompletedProcess([], 1, "", "INFO - a\nERROR - first\nERROR - second\n")
    assert scratch.failure(run) == "ERROR - first"
    macro = 'WARNING - [macros] - ERROR !!! failure "Macro error in x.md, line 3"\n\n    ``MacroError: unknown key``\n'
    assert scratch.failure(subprocess.CompletedProcess([], 1, "", macro)) == \
        'WARNING - [macros] - ERROR !!! failure "Macro error in x.md, line 3": MacroError: unknown key'
    assert scratch.failure(subprocess.CompletedProcess([], 1, "", "one\ntwo\n\n")) == "two"
    assert scratch.failure(subprocess.CompletedProcess([], 3, "", "")) == "exit status 3"


def test_merging_follows_mkdocs_inherit():
    base = {"theme": {"name": "material", "custom_dir": "a"}, "plugins": ["search", "macros"], "x": 1}
    out = scratch.merged(base, {"theme": {"custom_dir": "/abs"}, "plugins": ["search"]})
    assert out == {"theme": {"name": "material", "custom_dir": "/abs"}, "plugins": ["search"], "x": 1}
    assert base["theme"]["custom_dir"] == "a"  # the base is left as it was


def test_the_build_environment_drops_what_would_steer_the_copy(monkeypatch):
    monkeypatch.setenv("SNAPSHOT_PATH", "/elsewhere/metrics.json")
    monkeypatch.setenv("SITE_URL", "https://elsewhere.example/")
    env = scratch.mkdocs_env()
    assert "SNAPSHOT_PATH" not in env and "SITE_URL" not in env and env["NO_MKDOCS_2_WARNING"] == "1"
    assert scratch.mkdocs_env({"SITE_URL": "http://127.0.0.1:1/"})["SITE_URL"] == "http://127.0.0.1:1/"
