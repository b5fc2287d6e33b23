"""`python -m build_data new DIR [--title TEXT]`: a new microsite, complete and ready to build.

The site is copied from template/ beside this file: its mkdocs.yml, a home page, two argument
pages whose claims are checked at every build, a watchlist, a change log, a methodology page, a
site config with charts and a derived series, an empty facts file and a .gitignore for what
builds make. It builds at once, offline, on the sample data (`make site SITE=DIR`).

Paths the site needs to reach the engine (its theme, the config schema) are written relative to
DIR, so the project and its sites can move together. The folder is written aside and renamed
into place: a failure leaves nothing half-made.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from build_data.errors import BuildError
from build_data.site import ROOT

TEMPLATE = Path(__file__).resolve().parent / "template"
THEME = ROOT / "macros" / "theme"
SCHEMA = ROOT / "build_data" / "site-config.schema.json"
# Files whose text names the site or a path back to the engine.
FILLED = ("mkdocs.yml", "site.yml", "docs/index.md")


def title_from(folder: Path) -> str:
    """"semis-vs-market" -> "Semis vs market"."""
    words = re.sub(r"[-_]+", " ", folder.name).strip()
    return (words[:1].upper() + words[1:]) or "My microsite"


def _relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target, start)).as_posix()


def create(folder: Path, title: str | None = None) -> list[Path]:
    """Write the new site into `folder` (which must not exist, or be empty); returns its files."""
    folder = Path(folder).absolute()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BuildError(f"{folder}: already exists and is not empty; `new` only creates a site in a new folder")
    title = (title or title_from(folder)).strip()
    if not title or "\n" in title:
        raise BuildError("--title: give a one-line title")
    values = {"__TITLE__": title.replace('"', "'"), "__THEME_DIR__": _relative(THEME, folder),
              "__SCHEMA__": _relative(SCHEMA, folder)}
    folder.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{folder.name}.new-", dir=folder.parent))
    try:
        shutil.copytree(TEMPLATE, stage, dirs_exist_ok=True)
        (stage / "gitignore").rename(stage / ".gitignore")
        for name in FILLED:
            path = stage / name
            text = path.read_text(encoding="utf-8")
            for token, value in values.items():
                text = text.replace(token, value)
            path.write_text(text, encoding="utf-8")
        if folder.exists():
            folder.rmdir()  # empty, checked above
        stage.rename(folder)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return sorted(p for p in folder.rglob("*") if p.is_file())


def run(args) -> int:
    files = create(args.dir, args.title)
    shown = args.dir  # as the author typed it, for the commands to copy
    print(f"created {len(files)} files in {shown}:", file=sys.stderr)
    for path in files:
        print(f"  {path.relative_to(Path(args.dir).absolute())}", file=sys.stderr)
    print(f"next: `make site SITE={shown}` builds it (offline: on sample data), "
          f"`make serve SITE={shown}` previews it while you edit its pages and site.yml", file=sys.stderr)
    return 0
