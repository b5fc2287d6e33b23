"""requirements.lock pins every package to one version with its sha256 hashes (installs use
`pip --require-hashes`), and agrees with pyproject.toml's pins."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_entries() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes), from the requirement blocks of requirements.lock."""
    text = (ROOT / "requirements.lock").read_text()
    entries = {}
    for block in re.split(r"\n(?=\S)", text):
        head = block.split("\\", 1)[0].strip()
        if not head or head.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", head)
        assert m, f"requirements.lock: not an exact pin: {head!r}"
        entries[_norm(m[1])] = (m[2], re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return entries


def test_every_locked_package_is_pinned_with_hashes():
    entries = lock_entries()
    assert len(entries) > 50
    missing = [name for name, (_, hashes) in entries.items() if not hashes]
    assert not missing, f"requirements.lock: no hashes for {missing}"


def test_lock_has_no_machine_specific_index_lines():
    text = (ROOT / "requirements.lock").read_text()
    assert not re.search(r"^--(extra-)?index-url|^--find-links", text, re.M)


def test_pyproject_pins_match_the_lock():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    entries = lock_entries()
    for req in project["dependencies"] + project["optional-dependencies"]["test"]:
        name, version = req.split("==")
        assert _norm(name) in entries, f"{name} is in pyproject.toml but not in requirements.lock"
        assert entries[_norm(name)][0] == version, f"{name}: pyproject {version}, lock {entries[_norm(name)][0]}"


def test_the_install_checks_hashes():
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements.lock" in makefile
