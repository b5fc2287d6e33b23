"""`make serve`: an author's mistake shows in the page and in the terminal, and the preview
keeps running; fixing the file brings the page back. Strict builds still fail (test_macros)."""
from __future__ import annotations

import html
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.site_fixtures import make_site, write_vendor

FRONT_MATTER = '---\ndescription: "A page with a typo"\n---\n\n# Oops\n\nRSI is {{ metric("rut.rsi14") }}.\n'
LENIENT = {"MACRO_ERRORS_FAIL": "false"}


@pytest.fixture(scope="module")
def vendor(tmp_path_factory) -> Path:
    return write_vendor(tmp_path_factory.mktemp("vendor"))


def lenient_build(site) -> subprocess.CompletedProcess:
    env = {**os.environ, **LENIENT, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--site-dir", str(site.site)], cwd=site.root,
                          env=env, capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize(("markdown", "line", "expect"), [
    (FRONT_MATTER, 7, ["unknown metric key 'rut.rsi14'", "closest valid keys: 'rut.rsi_14'", 'metric("rut.rsi14")']),
    ("# M\n\nText.\n\n{{ metirc('rut.close') }}\n", 5, ["'metirc' is undefined; did you mean metric"]),
    ("---\ndescription: x\n---\n# M\n\n{% if %}\n", 6, ["TemplateSyntaxError", "{% if %}"]),
    ("# M\n\n{{ metric('rut.close', 'pct') }}\n", 3, ["format 'pct' does not apply to unit 'price'"]),
])
def test_a_macro_error_shows_in_the_page_and_the_terminal(tmp_path, vendor, markdown, line, expect):
    site = make_site(tmp_path / "site", vendor=vendor, pages={"oops.md": markdown})
    run = lenient_build(site)
    assert run.returncode == 0, run.stderr[-2000:]
    terminal = run.stdout + run.stderr
    page = (site.site / "oops" / "index.html").read_text()
    shown = html.unescape(page)
    # The line counts the front matter: it is the line the author's editor shows.
    assert f"Macro error in oops.md, line {line}" in terminal and f"Macro error in oops.md, line {line}" in shown
    for needle in expect:
        assert needle in terminal and needle in shown, needle
    # Other pages are unaffected.
    assert "Macro error" not in (site.site / "index.html").read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, predicate, timeout: float = 90) -> str:
    deadline, last = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                last = r.read().decode()
            if predicate(last):
                return last
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} never matched; last response: {last[-500:]}")


def test_the_preview_survives_a_typo_and_recovers_when_it_is_fixed(tmp_path, vendor):
    site = make_site(tmp_path / "site", vendor=vendor, pages={"oops.md": FRONT_MATTER})
    port = _free_port()
    env = {**os.environ, **LENIENT, "SITE_URL": f"http://127.0.0.1:{port}/"}
    server = subprocess.Popen([sys.executable, "-m", "mkdocs", "serve", "--dev-addr", f"127.0.0.1:{port}"],
                              cwd=site.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/oops/"
        broken = _wait_for(url, lambda t: "Macro error" in t)
        assert "line 7" in broken and "rut.rsi_14" in broken
        (site.docs / "oops.md").write_text(FRONT_MATTER.replace("rut.rsi14", "rut.rsi_14"))
        fixed = _wait_for(url, lambda t: "Macro error" not in t and 'data-key="rut.rsi_14"' in t)
        assert ">71.2<" in fixed
        assert server.poll() is None  # still serving
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


RESTS_ON = """---
rests_on: {"Momentum": [rsi_hot]}
---

# Bear

## Momentum

{{ claim("rsi_hot") }}

## Elsewhere

RSI is {{ metric("rut.rsi14") }}.
"""


def test_a_macro_error_on_a_page_with_rests_on_is_reported_alone(tmp_path, vendor):
    # The section exists: the only mistake is the metric key further down.
    site = make_site(tmp_path / "site", vendor=vendor, pages={"oops.md": RESTS_ON})
    run = lenient_build(site)
    assert run.returncode == 0, run.stderr[-2000:]
    terminal = run.stdout + run.stderr
    shown = html.unescape((site.site / "oops" / "index.html").read_text())
    for text in (terminal, shown):
        assert "Macro error in oops.md, line 13" in text and "unknown metric key 'rut.rsi14'" in text
        assert "rests_on" not in text and "no section titled" not in text
    assert shown.count("Macro error in oops.md") == 1


def test_a_missing_rests_on_section_is_named_once_with_the_closest_heading(tmp_path, vendor):
    page = RESTS_ON.replace('"Momentum"', '"Momentm"').replace('metric("rut.rsi14")', 'metric("rut.rsi_14")')
    site = make_site(tmp_path / "site", vendor=vendor, pages={"oops.md": page})
    run = lenient_build(site)
    assert run.returncode == 0, run.stderr[-2000:]
    shown = html.unescape((site.site / "oops" / "index.html").read_text())
    assert "rests_on: no section titled 'Momentm' on this page; closest: 'Momentum'" in shown
    assert "rests_on: rests_on" not in shown
