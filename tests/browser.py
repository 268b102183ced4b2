"""Open HTML reports in headless Chromium and tell whether they render.

Chromium comes from the Debian package (``scripts/ensure_browser.sh``, run by ``make test``)
and is driven through the Chrome DevTools Protocol on a websocket
(``--remote-debugging-port``): no WebDriver, no browser download. A page renders when it
loads, its headline element is there, every ``<img>`` decoded (``naturalWidth > 0``), no
console error, uncaught exception or failed resource load was logged, and every link to a
local file points at a file that exists. Each page is also saved as a full-page screenshot.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

__all__ = ["Browser", "PageReport", "find_chromium"]

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_WIDTH = 1280
_GX_FOLDERS = frozenset({"gx", "gx-data-docs"})
_MAX_HEIGHT = 12_000  # a screenshot taller than this is cut (a report is never that long)

_INSPECT = """(() => ({
  title: document.title,
  headline: (() => { const h = document.querySelector(%s); return h ? h.textContent.trim() : null; })(),
  images: document.images.length,
  broken: [...document.images].filter(i => !i.complete || i.naturalWidth === 0)
                              .map(i => (i.getAttribute('src') || '').slice(0, 120)),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  height: Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0),
}))()"""  # noqa: E501


def find_chromium() -> str | None:
    """Path of a Chromium (or Chrome) executable on ``PATH``, or None."""
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageReport:
    """What a browser saw on one page.

    Attributes:
        url: The page's ``file://`` URL.
        title: The document title.
        headline: Text of the headline element, None when there is none.
        images: How many ``<img>`` elements the page has.
        broken_images: ``src`` of each image that did not decode (naturalWidth 0).
        console_errors: Console errors, uncaught exceptions and failed resource loads.
        broken_links: Links to local files that do not exist.
        screenshot: The full-page PNG, when one was asked for.
    """

    url: str
    title: str = ""
    headline: str | None = None
    images: int = 0
    broken_images: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    broken_links: list[str] = field(default_factory=list)
    screenshot: Path | None = None

    @property
    def problems(self) -> list[str]:
        """Every reason the page does not render, one line each (empty when it does)."""
        found = []
        if self.headline is None:
            found.append("no headline element")
        found += [f"image did not load: {src}" for src in self.broken_images]
        found += [f"console: {text}" for text in self.console_errors]
        found += [f"link to a missing file: {link}" for link in self.broken_links]
        return found

    def assert_renders(self) -> None:
        """Raise AssertionError listing the problems when the page does not render."""
        if self.problems:
            shot = f" (screenshot {self.screenshot})" if self.screenshot else ""
            raise AssertionError(
                f"{self.url} does not render{shot}:\n  " + "\n  ".join(self.problems)
            )


class _Tab:
    """One page target: a websocket that sends commands and collects events."""

    def __init__(self, ws_url: str, timeout_s: float) -> None:
        self._ws = websocket.create_connection(ws_url, timeout=timeout_s, suppress_origin=True)
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and return its result (events received meanwhile are kept)."""
        number = next(self._ids)
        self._ws.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            if "method" in message:
                self.events.append(message)

    def wait_for(self, event: str) -> None:
        """Read messages until ``event`` arrives (or it already has)."""
        while not any(e["method"] == event for e in self.events):
            message = json.loads(self._ws.recv())
            if "method" in message:
                self.events.append(message)

    def close(self) -> None:
        self._ws.close()


def _console_errors(events: list[dict[str, Any]]) -> list[str]:
    errors = []
    for event in events:
        params = event.get("params", {})
        if event["method"] == "Runtime.consoleAPICalled" and params.get("type") in (
            "error",
            "assert",
        ):
            args = params.get("args", [])
            errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
        elif event["method"] == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            exception = details.get("exception", {})
            errors.append(str(exception.get("description") or details.get("text", "exception")))
        elif event["method"] == "Log.entryAdded":
            entry = params.get("entry", {})
            if entry.get("level") == "error":
                where = f" ({entry['url']})" if entry.get("url") else ""
                errors.append(f"{entry.get('text', '')}{where}")
    return [e.splitlines()[0] if e else "error" for e in errors]


def _broken_local_links(links: list[str]) -> list[str]:
    broken = []
    for link in links:
        parts = urllib.parse.urlsplit(link)
        if parts.scheme != "file":
            continue  # http(s) links (an MLflow run) are not ours to check offline
        if not Path(urllib.parse.unquote(parts.path)).exists():
            broken.append(link)
    return broken


class Browser:
    """A headless Chromium driven over the DevTools Protocol; use as a context manager."""

    def __init__(self, executable: str | None = None, timeout_s: float = 60.0) -> None:
        """Start Chromium.

        Args:
            executable: The browser to run (default: :func:`find_chromium`).
            timeout_s: Longest wait for the browser to start or a page to load.

        Raises:
            RuntimeError: No Chromium was found, or it did not start.
        """
        found = executable or find_chromium()
        if found is None:
            raise RuntimeError("no chromium on PATH: run scripts/ensure_browser.sh")
        self.timeout_s = timeout_s
        self._profile = Path(tempfile.mkdtemp(prefix="dmp-chromium-"))
        command = [
            found,
            "--headless=new",
            "--no-sandbox",  # we run as root in CI; the pages are our own files
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--hide-scrollbars",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "--remote-allow-origins=*",
            f"--user-data-dir={self._profile}",
            f"--window-size={_WIDTH},900",
            "about:blank",
        ]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            self._endpoint = self._wait_for_port()
        except BaseException:
            self.close()
            raise

    def _wait_for_port(self) -> str:
        marker = self._profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self._process.returncode}")
            lines = marker.read_text().splitlines() if marker.exists() else []
            if lines and lines[0].strip().isdigit():
                return f"http://127.0.0.1:{lines[0].strip()}"
            time.sleep(0.1)
        raise RuntimeError(f"chromium did not open its DevTools port in {self.timeout_s:.0f}s")

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the browser and remove its profile folder."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        shutil.rmtree(self._profile, ignore_errors=True)

    def _http(self, path: str, method: str = "GET") -> bytes:
        request = urllib.request.Request(self._endpoint + path, method=method)
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
            return bytes(response.read())

    def check(
        self, page: Path, *, headline: str = "h1", screenshot: Path | None = None
    ) -> PageReport:
        """Load ``page`` in a fresh tab and report what rendered.

        Args:
            page: An HTML file.
            headline: CSS selector of the element every such page must have.
            screenshot: Where to save a full-page PNG (parent folders are made).

        Returns:
            The :class:`PageReport`; call ``assert_renders()`` on it to fail a test.
        """
        url = page.absolute().as_uri()
        target = json.loads(self._http("/json/new?about:blank", method="PUT"))
        tab = _Tab(target["webSocketDebuggerUrl"], self.timeout_s)
        try:
            for domain in ("Page", "Runtime", "Log"):
                tab.call(f"{domain}.enable")
            tab.call("Page.navigate", url=url)
            tab.wait_for("Page.loadEventFired")
            found = tab.call(
                "Runtime.evaluate",
                expression=_INSPECT % json.dumps(headline),
                returnByValue=True,
            )["result"]["value"]
            report = PageReport(
                url=url,
                title=found["title"],
                headline=found["headline"],
                images=found["images"],
                broken_images=list(found["broken"]),
                broken_links=_broken_local_links(found["links"]),
            )
            if screenshot is not None:
                height = max(1, min(int(found["height"]), _MAX_HEIGHT))
                shot = tab.call(
                    "Page.captureScreenshot",
                    format="png",
                    captureBeyondViewport=True,
                    clip={"x": 0, "y": 0, "width": _WIDTH, "height": height, "scale": 1},
                )
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                screenshot.write_bytes(base64.b64decode(shot["data"]))
                report.screenshot = screenshot
            report.console_errors = _console_errors(tab.events)
            return report
        finally:
            tab.close()
            self._http(f"/json/close/{target['id']}")  # answers in plain text


def report_pages(reports_dir: Path) -> list[Path]:
    """Every HTML page dmp wrote under ``reports_dir``, sorted.

    Left out: great-expectations' own folders (``gx/``, its context, and ``gx-data-docs/``,
    its Data Docs site, which loads CSS from public CDNs) and unfinished folders (names
    starting with ``.``).
    """
    found = []
    for page in reports_dir.rglob("*.html"):
        parts = page.relative_to(reports_dir).parts
        if _GX_FOLDERS.isdisjoint(parts) and not any(p.startswith(".") for p in parts):
            found.append(page)
    return sorted(found)


def check_reports(browser: Browser, reports_dir: Path, screenshots: Path) -> dict[Path, PageReport]:
    """Open every report page under ``reports_dir``; fail on the first that does not render.

    Screenshots are saved under ``screenshots`` as ``<path relative to reports_dir>.png``
    with ``/`` replaced by ``__``.

    Returns:
        The report of each page, by path relative to ``reports_dir``.

    Raises:
        AssertionError: A page does not render, or there is no page at all.
    """
    pages = report_pages(reports_dir)
    if not pages:
        raise AssertionError(f"no HTML report under {reports_dir}")
    checked = {}
    for page in pages:
        relative = page.relative_to(reports_dir)
        shot = screenshots / (relative.as_posix().replace("/", "__") + ".png")
        report = browser.check(page, screenshot=shot)
        report.assert_renders()
        checked[relative] = report
    return checked
