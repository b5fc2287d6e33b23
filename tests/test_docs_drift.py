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


def test_the_site_config_schema_file_is_up_to_date_with_the_models():
    from build_data import schema

    assert schema.SCHEMA_FILE.read_text(encoding="utf-8") == schema.schema_text(), \
        "build_data/site-config.schema.json is stale: run `python -m build_data schema --write`"


def test_universe_yml_names_the_schema_and_validates_against_it():
    import json

    import jsonschema
    import yaml

    from build_data import config, schema

    text = config.DEFAULT_UNIVERSE.read_text(encoding="utf-8")
    assert text.splitlines()[0] == f"# yaml-language-server: $schema={schema.SCHEMA_FILE.name}"
    assert (config.DEFAULT_UNIVERSE.parent / schema.SCHEMA_FILE.name) == schema.SCHEMA_FILE
    rules = json.loads(schema.SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(rules)
    raw = yaml.safe_load(text)
    assert list(validator.iter_errors(raw)) == []
    # What an editor flags while typing: a misspelt field, a claim group with capitals, a wrong op.
    raw["claims"]["rotation"]["treshold"] = 0
    raw["claims"]["trend"]["page"] = "Bull"
    raw["claims"]["jobs"]["op"] = "=>"
    flagged = {tuple(e.path) for e in validator.iter_errors(raw)}
    assert {("claims", "rotation"), ("claims", "trend", "page"), ("claims", "jobs", "op")} <= flagged


def test_a_field_added_to_a_model_shows_up_in_the_schema_and_the_reference():
    from pydantic import Field

    from build_data import schema
    from build_data.config import Claim, Universe

    class ToneClaim(Claim):
        tone: str = Field(default="neutral", description="How firmly the claim is worded.")

    class ToneUniverse(Universe):
        claims: dict[str, ToneClaim] = {}

    assert "tone" in schema.site_schema(ToneUniverse)["$defs"]["ToneClaim"]["properties"]
    rows = {r["field"]: r for r in schema.reference_rows(ToneUniverse)}
    assert rows["claims.NAME.tone"] == {"field": "claims.NAME.tone", "type": "string", "default": '"neutral"',
                                        "description": "How firmly the claim is worded."}
    assert "claims.NAME.tone" not in {r["field"] for r in schema.reference_rows()}
    # Sections come first, each with its fields (and a compound claim's conditions) under it.
    assert rows["claims"]["type"] == "map of ToneClaim" and rows["claims"]["description"]
    assert rows["claims.NAME.page"]["default"] == "required"
    assert rows["claims.NAME.all[].metric"]["description"].startswith("A metric key")
    assert rows["watchlist.NAME.op"]["type"] == '">" | ">=" | "<" | "<=" | "==" | "true" | "false"'
