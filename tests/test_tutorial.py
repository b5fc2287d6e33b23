"""The tutorial (docs/tutorial.md), followed step by step as written.

Its shell blocks are run line by line (the folder `semis` becomes one in a temp dir; `make site`
gets `DATA_ARGS=--source sample`, so the build is offline and deterministic; `make serve` would
start a server and is left out). A YAML block titled with a file is merged into that file:
each of its sections replaces the file's, except mappings, whose entries are added or replaced,
as the tutorial says ("add these entries under the sections of the same name"). A Markdown block
titled with a file is that file. Then the second site is checked beside the default one.
"""
from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TUTORIAL = REPO / "docs" / "tutorial.md"
FOLDER = "semis"
BLOCK = re.compile(r'^```(\w+)(?: title="([^"]+)")?\n(.*?)^```$', re.S | re.M)


def steps(text: str) -> list[tuple[str, str | None, str]]:
    return [(lang, title, body) for lang, title, body in BLOCK.findall(text)]


def merge_yaml(path: Path, snippet: str) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if "mkdocs" not in path.name else None
    if data is None:  # mkdocs.yml has !ENV tags: edit its top-level section as text
        text = path.read_text(encoding="utf-8")
        for key, value in yaml.safe_load(snippet).items():
            block = yaml.safe_dump({key: value}, sort_keys=False, allow_unicode=True)
            text, n = re.subn(rf"^{key}:\n(?:[ -].*\n|\n)*?(?=^\S)", block + "\n", text, flags=re.M)
            assert n == 1, f"{path.name}: no top-level {key}: section to replace"
        path.write_text(text, encoding="utf-8")
        return
    for key, value in yaml.safe_load(snippet).items():
        if isinstance(value, dict) and isinstance(data.get(key), dict) and key != "symbols":
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def run_line(line: str, tmp: Path) -> subprocess.CompletedProcess:
    args = [str(tmp / FOLDER) if a == FOLDER else a.replace(f"SITE={FOLDER}", f"SITE={tmp / FOLDER}")
            for a in shlex.split(line)]
    if args[:2] == ["make", "site"]:
        args.append("DATA_ARGS=--source sample")
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def followed(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("tutorial")
    for lang, title, body in steps(TUTORIAL.read_text(encoding="utf-8")):
        if lang == "sh":
            for line in body.splitlines():
                if not line.strip() or line.startswith("#") or line.startswith("make serve"):
                    continue
                run = run_line(line, tmp)
                assert run.returncode == 0, f"{line}\n{run.stderr[-3000:]}"
        elif title:
            assert title.startswith(f"{FOLDER}/"), title
            path = tmp / title
            if lang == "yaml":
                merge_yaml(path, body)
            else:
                path.write_text(body, encoding="utf-8")
    return tmp / FOLDER


def test_the_tutorial_has_every_kind_of_step():
    found = steps(TUTORIAL.read_text(encoding="utf-8"))
    kinds = {(lang, (title or "").rsplit("/", 1)[-1]) for lang, title, _ in found}
    assert ("sh", "") in kinds and ("yaml", "site.yml") in kinds and ("yaml", "mkdocs.yml") in kinds
    assert ("markdown", "leadership.md") in kinds


def test_the_second_site_builds_with_other_tickers_a_ratio_rsi_a_chart_and_its_own_page(followed):
    site = followed / "site"
    page = (site / "leadership" / "index.html").read_text(encoding="utf-8")
    snap = json.loads((followed / "docs" / "generated" / "metrics.json").read_text(encoding="utf-8"))
    assert snap["data_mode"] == "sample"
    # Other tickers: the aliases the scaffold's pages use now carry SMH and SPY.
    assert snap["metrics"]["focus.close"]["source"].endswith("SMH")
    # A derived ratio with its RSI, and the claims on a page that is neither bull nor bear.
    assert isinstance(snap["metrics"]["smh_soxx.rsi_14"]["value"], float)
    assert {snap["claims"][c]["page"] for c in ("chips_lead", "smh_stretched")} == {"leadership"}
    assert "leadership" in snap["tally"]
    # The custom charts were drawn, and the page shows them.
    assert snap["charts"]["smh-vs-soxx"]["spec"] and snap["charts"]["smh-soxx-rsi"]["spec"]
    assert "smh-vs-soxx" in page and "SMH against SOXX" in page
    # Its feeds carry its own name and point at its own output.
    feed = json.loads((followed / "docs" / "generated" / "changes.json").read_text(encoding="utf-8"))
    assert feed["title"] == "Chips vs the market: signal changes" and feed["feed_url"].endswith("/generated/changes.json")
    # Thresholds printed from the config, never typed twice.
    assert "70" in page and "{threshold}" not in page
    for html in site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert "{{" not in text and ">nan<" not in text and ">None<" not in text, html


def test_the_review_step_prints_json(followed):
    run = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "build_data", "review", "--site",
                          str(followed)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert isinstance(json.loads(run.stdout), list)


def test_the_default_site_is_untouched_by_the_second(followed):
    """Two sites from one install: the second wrote only inside its own folder, and what its
    builds make is ignored by git, inside the project or in a repository of its own."""
    assert not (REPO / FOLDER).exists()
    own = (followed / ".gitignore").read_text(encoding="utf-8").split()
    assert {"site/", "docs/generated/", ".cache/"} <= set(own)
    for made in ("sites/semis/docs/generated/metrics.json", "sites/semis/site/index.html",
                 "sites/semis/.cache/market-data/prices/SMH.csv", "docs/generated/metrics.json"):
        ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", made], cwd=REPO)
        assert ignored.returncode == 0, made
    for kept in ("sites/semis/site.yml", "sites/semis/docs/index.md"):
        assert subprocess.run(["git", "check-ignore", "-q", "--no-index", kept], cwd=REPO).returncode == 1, kept
