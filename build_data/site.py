"""A site is a folder: its `mkdocs.yml`, its pages (`docs/`), its site config and its facts.

The default site is the project's root; `python -m build_data new DIR` makes another one, and
every command (and `make ... SITE=DIR`) takes the folder. Where a site keeps each of its files is
read from its `mkdocs.yml`, here and nowhere else:

    docs_dir                 the pages (default docs)
    extra.snapshot           metrics.json, relative to docs_dir (default generated/metrics.json):
                             its folder is the build's output (chart specs, SVGs, feeds, the runtime)
    extra.site_config        the site config, relative to mkdocs.yml (default site.yml)
    extra.site_facts         the sourced facts, relative to mkdocs.yml (default facts.yml)

The raw market-data cache is the site's `.cache/market-data`, and `make site` builds into its
`site/` folder; both are git-ignored wherever a site lives.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from build_data.errors import ConfigError

# The project: the engine's packages (build_data, macros) and the default site.
ROOT = Path(__file__).resolve().parent.parent
# The build's output folder inside docs_dir, unless a site's mkdocs.yml names another.
GENERATED = "generated"
SNAPSHOT_NAME = "metrics.json"
DEFAULT_SNAPSHOT = f"{GENERATED}/{SNAPSHOT_NAME}"


class MkdocsLoader(yaml.SafeLoader):
    """Reads mkdocs.yml as data: `!ENV [NAME, default]` gives its default (or the variable's
    value with `environ`), and Python tags (`!!python/name:...`, used by some Markdown
    extensions) read as their name."""


MkdocsLoader.add_constructor("!ENV", lambda loader, node: loader.construct_sequence(node)[-1]
                             if isinstance(node, yaml.SequenceNode) else None)
MkdocsLoader.add_multi_constructor("tag:yaml.org,2002:python/",
                                   lambda loader, suffix, node: f"!!python/{suffix}")


def read_mkdocs(path: Path) -> dict:
    """A site's mkdocs.yml as a dict, or a one-line error naming the file."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=MkdocsLoader)
    except FileNotFoundError:
        raise ConfigError(f"{path.parent}: no mkdocs.yml, so not a site folder "
                          "(`python -m build_data new DIR` makes one)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of MkDocs settings")
    return data


@dataclass(frozen=True)
class Site:
    root: Path           # the folder holding mkdocs.yml
    docs: Path           # the pages
    out: Path            # what `python -m build_data` writes: metrics.json, charts/, vendor/, feeds
    config: Path         # the site config (symbols, charts, claims, ...)
    facts: Path          # the sourced facts
    snapshot_rel: str    # extra.snapshot: metrics.json relative to docs
    name: str = ""       # site_name

    @property
    def out_in_site(self) -> str:
        """The output folder as the built site serves it, relative to its root ("generated/")."""
        return self.snapshot_rel.rsplit("/", 1)[0] + "/"

    @property
    def mkdocs_yml(self) -> Path:
        return self.root / "mkdocs.yml"

    @property
    def snapshot(self) -> Path:
        return self.out / SNAPSHOT_NAME

    @property
    def cache(self) -> Path:
        return self.root / ".cache" / "market-data"

    @property
    def built(self) -> Path:
        """Where `make site` puts the built site (and `make archive` the archived weeks)."""
        return self.root / "site"

    @property
    def is_default(self) -> bool:
        return self.root == ROOT


def load(folder: Path | str | None = None) -> Site:
    """The site in `folder` (default: the project's root, the default site)."""
    root = Path(folder).resolve() if folder is not None else ROOT
    conf = read_mkdocs(root / "mkdocs.yml")
    extra = conf.get("extra") or {}
    docs = (root / (conf.get("docs_dir") or "docs")).resolve()
    snapshot_rel = str(extra.get("snapshot") or DEFAULT_SNAPSHOT)
    if not snapshot_rel.endswith(f"/{SNAPSHOT_NAME}"):
        raise ConfigError(f"{root / 'mkdocs.yml'}: extra.snapshot: {snapshot_rel!r} should name a folder's "
                          f"{SNAPSHOT_NAME}, such as {DEFAULT_SNAPSHOT!r}")
    return Site(root=root, docs=docs, out=(docs / snapshot_rel).parent.resolve(),
                config=(root / str(extra.get("site_config") or "site.yml")).resolve(),
                facts=(root / str(extra.get("site_facts") or "facts.yml")).resolve(),
                snapshot_rel=snapshot_rel, name=str(conf.get("site_name") or ""))

