"""`make preview` serves a built site over HTTP on 127.0.0.1, where folder URLs open their index page."""
from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, tries: int = 100) -> str:
    for _ in range(tries):
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read().decode()
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")


def test_make_preview_serves_the_site_folder_with_index_pages(tmp_path):
    site = tmp_path / "site"
    (site / "bear-case").mkdir(parents=True)
    (site / "index.html").write_text("<h1>home</h1>")
    (site / "bear-case" / "index.html").write_text("<h1>bear</h1>")
    port = _free_port()
    proc = subprocess.Popen(["make", "-s", "preview", f"SITE_DIR={site}", f"PORT={port}"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert _get(f"http://127.0.0.1:{port}/") == "<h1>home</h1>"
        # Navigation links point at folders: over file:// those show listings, over HTTP the page.
        assert _get(f"http://127.0.0.1:{port}/bear-case/") == "<h1>bear</h1>"
    finally:
        import os
        import signal

        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
