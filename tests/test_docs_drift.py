"""README, `make help` and the CLI must tell the same story."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

from build_data.__main__ import parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def make_targets() -> set[str]:
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"make (\S+)", out))


def test_readme_opens_with_the_two_commands():
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    assert "make site" in first_block and "make test" in first_block


def test_make_help_and_readme_list_the_same_targets():
    in_readme = set(re.findall(r"^\| `make ([a-z-]+)` \|", README, flags=re.M))
    assert in_readme == make_targets()


def _cli_flags() -> set[str]:
    flags = set()
    p = parser()
    for action in p._subparsers._group_actions[0].choices.values():
        for a in action._actions:
            flags.update(o for o in a.option_strings if o.startswith("--"))
    return flags


def test_every_cli_flag_is_documented_and_every_documented_flag_exists():
    documented = set(re.findall(r"(--[a-z][a-z-]+)", README.replace("mkdocs build --strict", "")))
    assert _cli_flags() <= documented, _cli_flags() - documented
    assert documented <= _cli_flags(), documented - _cli_flags()


def test_every_source_choice_is_documented():
    for source in ("auto", "yahoo", "cache", "csv", "sample"):
        assert f"`{source}`" in README or f"--source {source}" in README


def test_page_front_matter_is_valid_yaml():
    """MkDocs silently renders broken front matter as text; Zensical refuses the page."""
    import yaml

    for page in sorted((ROOT / "docs").glob("*.md")):
        text = page.read_text()
        if text.startswith("---\n"):
            meta = yaml.safe_load(text.split("---\n", 2)[1])
            assert isinstance(meta, dict) and meta.get("description"), page.name
