"""Headless Chromium with the network off: load a page, keep its DOM and what it requested.

Contract: :func:`load` runs Debian's ``/usr/bin/chromium --headless`` once per page with a
fresh profile, the background-networking flags this machine needs, and every host but
loopback unreachable (a dead proxy, which Chromium bypasses only for loopback, and a host
resolver that finds no other name).  It returns the DOM after the page's scripts ran
(``--dump-dom`` with a virtual-time budget) and the requests the page itself started, read
from Chromium's net log.  :func:`serve` serves a directory on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    # The network is off but for loopback: Chromium sends everything else to a dead proxy
    # (it bypasses proxies for loopback by default) and resolves no other host name.
    "--proxy-server=127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--virtual-time-budget=15000",
)


@dataclass(frozen=True)
class Loaded:
    """A page after its scripts ran: its DOM and the URLs it requested (initiator, url)."""

    url: str
    dom: str
    requests: tuple[tuple[str, str], ...]

    def off_host(self) -> list[str]:
        """URLs the page itself requested from any host but its own."""
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.url))
        return [url for initiator, url in self.requests
                if initiator == origin and not url.startswith(origin + "/")]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) for the ``with`` block; yields the URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _requests(netlog: Path) -> tuple[tuple[str, str], ...]:
    """(initiator, url) of every URL request in a Chromium net log."""
    text = netlog.read_text()
    try:
        log = json.loads(text)
    except ValueError:  # Chromium ended before closing the JSON: close it here
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    found = []
    for event in log["events"]:
        params = event.get("params") or {}
        if event.get("type") == start and "url" in params:
            found.append((str(params.get("initiator", "")), str(params["url"])))
    return tuple(found)


def load(url: str, timeout: float = 90) -> Loaded:
    """Load ``url`` in a fresh headless Chromium with the network off."""
    with tempfile.TemporaryDirectory(prefix="einderiv-chromium-") as work:
        netlog = Path(work) / "netlog.json"
        command = [
            str(CHROMIUM), *FLAGS, f"--user-data-dir={work}/profile",
            f"--log-net-log={netlog}", "--dump-dom", url,
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0 or "</html>" not in result.stdout:
            raise RuntimeError(
                f"chromium could not load {url} (exit {result.returncode}):\n"
                + result.stderr[-3000:]
            )
        return Loaded(url, result.stdout, _requests(netlog))
