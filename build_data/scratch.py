"""A throwaway copy of a site, built in a folder of its own: the archive's weeks, the benches and
the test fixtures all build one.

    sc = scratch_site(Path(tmp) / "s", site.load(folder), overrides={"site_url": url})
    sc.build_data("--source", "sample")            # python -m build_data --site <scratch> ...
    sc.mkdocs_build(Path(tmp) / "built", check="archive 2026-01-09")

The scratch folder holds:
    mkdocs.base.yml   a copy of the site's mkdocs.yml, as it stands when the copy is made;
    mkdocs.yml        `INHERIT: mkdocs.base.yml` plus what must change for the copy to build from
                      here (MkDocs deep-merges the two; a list is replaced): docs_dir, theme.custom_dir
                      and watch as ABSOLUTE paths (a site folder may name its theme relative to itself,
                      `custom_dir: ../../macros/theme`), extra.snapshot as the site's, and
                      extra.site_config / extra.site_facts naming the site's own files, so that
                      `python -m build_data --site <scratch>` (which reads mkdocs.yml alone) finds them;
                      then the caller's overrides;
    macros/           a link to the engine's macros (the default site loads them with
                      `module_name: macros`, relative to its mkdocs.yml; a site using
                      `modules: [macros]` imports them from the engine, and the link is unused);
    docs/             the site's pages without its build output (keep_pages), or only its other
                      files, plus the caller's pages.

Both builds run in a subprocess from the engine's folder (build_data.site.ROOT), whatever the
working folder of the caller.
"""
from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from build_data import site as sites
from build_data.errors import BuildError
from build_data.site import ROOT, Site

BASE = "mkdocs.base.yml"
# Variables that would steer a build away from the scratch copy's own settings.
STRIPPED_ENV = ("SITE_URL", "SNAPSHOT_PATH")


def merged(base: dict, over: dict) -> dict:
    """`over` deep-merged onto a copy of `base`, as MkDocs merges INHERIT: dicts merge, anything
    else (a list included) is replaced."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def mkdocs_env(env: dict | None = None) -> dict:
    """The environment of a scratch MkDocs build: the caller's, without SITE_URL and SNAPSHOT_PATH
    (the scratch config decides both unless `env` sets them), plus `env`."""
    out = {k: v for k, v in os.environ.items() if k not in STRIPPED_ENV}
    out.update(NO_MKDOCS_2_WARNING="1", PYTHONDONTWRITEBYTECODE="1")
    out.update(env or {})
    return out


def failure(run: subprocess.CompletedProcess) -> str:
    """A failed build's reason in one line: the first error line (with the indented detail line
    right under it, as the macros print a page's error), else the last line printed."""
    raw = (run.stderr or "").splitlines()
    for i, line in enumerate(raw):
        if "ERROR" in line or "Error" in line:
            detail = next((ln for ln in raw[i + 1:] if ln.strip()), "")
            indented = detail[:1].isspace()
            return line.strip() + (f": {detail.strip().strip('`').strip()}" if indented else "")
    lines = [ln.strip() for ln in raw if ln.strip()]
    return (lines[-1:] or [f"exit status {run.returncode}"])[0]


def mkdocs_build(config_file: Path, site_dir: Path, *, env: dict | None = None, strict: bool = True,
                 args: Sequence[str] = (), timeout: float | None = None,
                 check: str | None = None) -> subprocess.CompletedProcess:
    """`mkdocs build [--strict] -f CONFIG --site-dir SITE_DIR [args]` in a subprocess run from the
    engine's folder, with mkdocs_env(env). Returns it; with `check` (what is being built, for the
    message), a failure raises BuildError "CHECK: mkdocs failed: <its first error line>"."""
    cmd = [sys.executable, "-m", "mkdocs", "build", *(["--strict"] if strict else []), "-f", str(Path(config_file).resolve()),
           "--site-dir", str(Path(site_dir).resolve()), *args]
    run = subprocess.run(cmd, cwd=ROOT, env=mkdocs_env(env), capture_output=True, text=True, timeout=timeout)
    if check and run.returncode:
        raise BuildError(f"{check}: mkdocs failed: {failure(run)}")
    return run


def _absolute(root: Path, path) -> str:
    return str((root / str(path)).resolve())


def required_overrides(site: Site, base: dict, docs: Path) -> dict:
    """What the scratch mkdocs.yml must set for a copy of `site` to build from another folder."""
    over: dict = {"INHERIT": BASE, "docs_dir": str(docs),
                  "extra": {"snapshot": site.snapshot_rel, "site_config": str(site.config),
                            "site_facts": str(site.facts)}}
    theme = base.get("theme")
    if isinstance(theme, dict) and theme.get("custom_dir"):
        over["theme"] = {"custom_dir": _absolute(site.root, theme["custom_dir"])}
    if isinstance(base.get("watch"), list):
        over["watch"] = [_absolute(site.root, w) for w in base["watch"]]
    return over


@dataclass
class ScratchSite:
    root: Path                 # the scratch folder
    origin: Site               # the site it copies
    overrides: dict = field(default_factory=dict)  # the caller's, on top of the required ones

    @property
    def mkdocs_yml(self) -> Path:
        return self.root / "mkdocs.yml"

    @property
    def docs(self) -> Path:
        return self.root / "docs"

    @property
    def out(self) -> Path:
        """Where `build_data` writes the snapshot, charts and runtime: the site's extra.snapshot, in
        the scratch pages."""
        return (self.docs / self.origin.snapshot_rel).parent.resolve()

    @property
    def snapshot(self) -> Path:
        return self.out / sites.SNAPSHOT_NAME

    def base_config(self) -> dict:
        """The site's mkdocs.yml as copied (build_data.site.read_mkdocs)."""
        return sites.read_mkdocs(self.root / BASE)

    def write_config(self) -> None:
        base = self.base_config()
        conf = merged(required_overrides(self.origin, base, self.docs), self.overrides)
        self.mkdocs_yml.write_text(yaml.safe_dump(conf, sort_keys=False, allow_unicode=True), encoding="utf-8")

    def configure(self, overrides: dict) -> None:
        """Merge more overrides into the scratch mkdocs.yml (a later value wins)."""
        self.overrides = merged(self.overrides, overrides)
        self.write_config()

    def variant(self, name: str, overrides: dict) -> Path:
        """Another config in the scratch folder: this one (`INHERIT: mkdocs.yml`) with `overrides`,
        to build the same copy differently. Paths in `overrides` should be absolute."""
        path = self.root / name
        path.write_text(yaml.safe_dump({"INHERIT": self.mkdocs_yml.name, **overrides}, sort_keys=False,
                                       allow_unicode=True), encoding="utf-8")
        return path

    def build_data(self, *args: str, timeout: float | None = None, check: str | None = None,
                   env: dict | None = None) -> subprocess.CompletedProcess:
        """`python -m build_data --site <scratch> ARGS` from the engine's folder: the site's config and
        facts, the scratch pages, output into `out` unless ARGS say otherwise. With `check`, a failure
        raises BuildError "CHECK: data build failed: <its last line>"."""
        run = subprocess.run([sys.executable, "-m", "build_data", "--site", str(self.root), *map(str, args)],
                             cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                             env=None if env is None else {**os.environ, **env})
        if check and run.returncode:
            raise BuildError(f"{check}: data build failed: {(run.stderr.strip().splitlines() or ['?'])[-1]}")
        return run

    def mkdocs_build(self, site_dir: Path, *, env: dict | None = None, config: Path | str | None = None,
                     strict: bool = True, args: Sequence[str] = (), timeout: float | None = None,
                     check: str | None = None) -> subprocess.CompletedProcess:
        """MkDocs on the scratch copy (or on `config`, a variant) into site_dir: see mkdocs_build."""
        conf = self.mkdocs_yml if config is None else self.root / config
        return mkdocs_build(conf, site_dir, env=env, strict=strict, args=args, timeout=timeout, check=check)


def _copy_docs(site: Site, docs: Path, keep_pages: bool) -> None:
    """The site's pages into `docs`, without the build output (nor what a killed build left beside
    it, `.generated.*`); without its Markdown pages unless keep_pages."""
    out = site.out

    def ignore(folder: str, names: list[str]) -> set[str]:
        here = Path(folder).resolve()
        skipped = set()
        for name in names:
            if here == out.parent and (name == out.name or name.startswith(f".{out.name}.")):
                skipped.add(name)
            elif not keep_pages and name.endswith(".md") and not (here / name).is_dir():
                skipped.add(name)
        return skipped

    if site.docs.is_dir():
        shutil.copytree(site.docs, docs, ignore=ignore, symlinks=True)
    else:
        docs.mkdir()


def scratch_site(dest: Path, site: Site | None = None, *, pages: dict[str, str] | None = None,
                 keep_pages: bool = True, overrides: dict | None = None) -> ScratchSite:
    """Lay out a scratch copy of `site` (default: the default site) in `dest`, which must not exist
    or be empty. pages: {path under docs: Markdown}, added or replacing the site's; keep_pages=False
    leaves out the site's own Markdown pages (its other files stay). overrides: MkDocs settings
    merged into the scratch mkdocs.yml (see `configure` to add more later)."""
    site = site or sites.load()
    dest = Path(dest).resolve()
    if dest.exists() and any(dest.iterdir()):
        raise BuildError(f"{dest}: a scratch site needs an empty folder")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(site.mkdocs_yml, dest / BASE)
    (dest / "macros").symlink_to(ROOT / "macros", target_is_directory=True)
    sc = ScratchSite(dest, site, copy.deepcopy(overrides or {}))
    _copy_docs(site, sc.docs, keep_pages)
    for name, text in (pages or {}).items():
        path = sc.docs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    sc.write_config()
    return sc
