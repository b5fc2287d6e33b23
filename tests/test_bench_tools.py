"""The bench's own arithmetic: what `make bench` prints must come from a tested mapping."""
from __future__ import annotations

import pytest

from build_data.tools.lighthouse import calibrated_slowdown, median_run


@pytest.mark.parametrize(("index", "slowdown"), [(2000, 6.0), (1533, 4.0), (1300, 3.0), (1050, 2.5), (800, 2.0),
                                                  (150, 1.0), (60, 1.0)])
def test_cpu_slowdown_is_calibrated_to_the_host_as_lighthouse_documents(index, slowdown):
    # Lighthouse's throttling guide: 4x turns a host with a benchmark index near 1,533 into its
    # mid-tier phone; a slower host needs less slowdown to emulate the same phone, never below 1x.
    assert calibrated_slowdown(index) == pytest.approx(slowdown, abs=0.01)


def test_the_printed_run_is_the_median_by_performance_score():
    runs = [{"performance": p, "run": i} for i, p in enumerate([91, 97, 88])]
    assert median_run(runs)["run"] == 0  # 88, 91, 97: the middle one
    assert median_run(runs[:2])["performance"] == 91  # an even count takes the lower middle
    assert median_run(runs[:1])["performance"] == 91


def test_the_bench_server_stays_quiet_when_the_browser_drops_a_request(tmp_path, capfd):
    """Lighthouse closes connections it no longer needs at the end of a page load: the bench's
    server must not print a traceback into `make bench` for that."""
    import functools
    import os
    import socket
    import threading
    from http.server import ThreadingHTTPServer

    from build_data.tools.lighthouse import GzipHandler

    (tmp_path / "big.bin").write_bytes(os.urandom(16 * 1024 * 1024))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(GzipHandler, directory=str(tmp_path)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        client = socket.create_connection(httpd.server_address)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        client.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        assert client.recv(64).startswith(b"HTTP/1.0 200")
        client.close()  # reset, with most of the 16 MB unsent
        for _ in range(50):  # until the handler thread has run into the reset
            if threading.active_count() <= 2:
                break
            threading.Event().wait(0.1)
    finally:
        httpd.shutdown()
        httpd.server_close()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "BrokenPipe" not in err and "ConnectionReset" not in err, err
