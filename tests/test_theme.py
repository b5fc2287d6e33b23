"""The theme override's copies of Material's files (macros/theme/) stay Material's, but for the one
change each is there for."""
from __future__ import annotations

from pathlib import Path

import material

from tests.site_fixtures import REPO

MATERIAL = Path(material.__file__).parent / "templates"
OVERRIDE = REPO / "macros" / "theme"
SWITCHING = ("[data-md-color-switching] *,[data-md-color-switching] :after,"
             "[data-md-color-switching] :before{transition-duration:0s!important}")


def test_the_palette_sheet_is_materials_without_its_start_up_switching_rule():
    """Material sets data-md-color-switching on the body at every palette change, start-up
    included, and its rule `[data-md-color-switching] *` then restyles the whole page twice (set,
    and removed a frame later). The override is Material's palette sheet without that rule; the
    site turns transitions off itself, only while the reader switches (assets/site.css)."""
    linked = [line for line in (MATERIAL / "base.html").read_text().splitlines() if "palette." in line and ".css" in line]
    name = linked[0].split("'")[1]  # 'assets/stylesheets/palette.<hash>.min.css' | url
    ours = OVERRIDE / name
    assert ours.is_file(), (
        f"Material now links {name}: write macros/theme/{name} as Material's file without the rule "
        f"{SWITCHING!r} (and delete the old copy)")
    theirs = (MATERIAL / name).read_text()
    assert theirs.count(SWITCHING) == 1, "Material's palette sheet changed: check the rule is still the one to drop"
    assert ours.read_text() == theirs.replace(SWITCHING, "")
    assert [p.name for p in (OVERRIDE / "assets" / "stylesheets").iterdir()] == [ours.name]  # no stale copy
    site_css = (OVERRIDE / "assets" / "site.css").read_text()
    assert "[data-palette-switching] *" in site_css and "transition-duration: 0s !important" in site_css
