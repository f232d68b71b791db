"""End to end in a real headless browser (Chromium driven by Playwright) against ``corridor
serve`` on 127.0.0.1: open the page, move a lever, run, see the chart change, follow the
shareable link and see the same result. Also raw HTTP against the live server (uvicorn's own
parsing), for paths that a client library would normalise.

Set-up (see tests/web_support.py): ``pip install playwright`` and ``apt-get install -y
chromium``; ``playwright install`` is not needed. Without them the browser test skips, saying
so. ``CORRIDOR_SCREENSHOTS=DIR`` also saves the screenshots there (docs/img holds two).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest

from web_support import LiveServer, browser, live_server

__all__ = ["browser", "live_server"]  # fixtures, imported for pytest

TIMEOUT_MS = 120_000  # a run on a busy two-core machine


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / name), full_page=True)
    extra = os.environ.get("CORRIDOR_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(extra) / name), full_page=True)


def _run_and_wait(page: Any) -> None:
    page.click("#run")
    page.wait_for_function(
        "() => /Done|Already stored/.test(document.getElementById('status').textContent)",
        timeout=TIMEOUT_MS,
    )


def test_dashboard_end_to_end(live_server: LiveServer, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1360, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    outside: list[str] = []
    page.on(
        "request",
        lambda req: None if req.url.startswith(live_server.url) else outside.append(req.url),
    )

    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=TIMEOUT_MS)
    assert page.input_value("#scenario") == "uk-balkans"
    assert page.locator("#hubs tbody tr").count() == 6
    assert page.is_hidden("#interception-box")  # no route network in this pack
    names = page.eval_on_selector_all("#scenario option", "os => os.map(o => o.value)")
    if "balkans-routes" in names:  # a pack with a route network: the lever shows
        page.select_option("#scenario", "balkans-routes")
        page.wait_for_selector("#interception-box:not([hidden])")
        assert float(page.input_value("#interception")) > 0

    # The status quo of a small pack first.
    page.select_option("#scenario", "uk-rwanda")
    page.wait_for_selector("#hub-on-hub_rwanda")
    assert page.is_checked("#hub-on-hub_rwanda")
    _run_and_wait(page)
    before = page.get_attribute("#line-levers", "d")
    status_quo = page.get_attribute("#line-status_quo", "d")
    assert before
    assert status_quo
    _shot(page, tmp_path, "dashboard-status-quo.png")

    # Move levers: no Rwanda hub, 1.5 times the caseworkers; run; the chart changes.
    page.uncheck("#hub-on-hub_rwanda")
    page.fill("#caseworkers", "1.5")
    page.dispatch_event("#caseworkers", "input")
    assert page.text_content("#caseworkers-out") == "×1.50"
    _run_and_wait(page)
    page.wait_for_function(
        "(d) => { const p = document.getElementById('line-levers');"
        " return p && p.getAttribute('d') !== d; }",
        arg=before,
        timeout=TIMEOUT_MS,
    )
    after = page.get_attribute("#line-levers", "d")
    assert after != before
    assert page.get_attribute("#line-status_quo", "d") == status_quo  # the baseline stays
    page.select_option("#metric", "cum_hub_transfers")
    hub_line = page.get_attribute("#line-levers", "d")
    rows = page.locator("#summary tbody tr")
    assert rows.count() == 6
    _shot(page, tmp_path, "dashboard-levers.png")

    # The shareable link reloads the same view.
    link = page.get_attribute("#share-link", "href")
    assert link
    assert link.startswith("/runs/e")
    assert page.url.endswith(link)  # the address bar already shows it
    summary = page.inner_text("#summary")
    page2 = browser.new_page(viewport={"width": 1360, "height": 1000})
    page2.goto(live_server.url + link)
    page2.wait_for_selector("#line-levers", timeout=TIMEOUT_MS)
    assert page2.input_value("#scenario") == "uk-rwanda"
    assert not page2.is_checked("#hub-on-hub_rwanda")
    assert page2.input_value("#caseworkers") == "1.5"
    assert page2.get_attribute("#line-levers", "d") == after
    assert page2.get_attribute("#line-status_quo", "d") == status_quo
    assert page2.inner_text("#summary") == summary
    page2.select_option("#metric", "cum_hub_transfers")
    assert page2.get_attribute("#line-levers", "d") == hub_line
    _shot(page2, tmp_path, "dashboard-shared-link.png")

    # A lever the schema refuses is reported on the page, nothing is queued.
    page2.fill("#hub-beds-hub_rwanda", "-3")
    page2.click("#run")
    page2.wait_for_selector("#errors li", timeout=TIMEOUT_MS)
    assert "beds" in page2.inner_text("#errors")

    assert not errors, (errors, failed)
    assert not outside, outside  # offline: nothing fetched from anywhere else
    page.close()
    page2.close()


def _raw_get(server: LiveServer, target: str) -> tuple[int, bytes]:
    """One HTTP/1.1 request sent as written (no client-side normalisation of ``..``)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


@pytest.mark.parametrize(
    "target",
    [
        "/static/../../../../pyproject.toml",
        "/static/../app.py",
        "/static/%2e%2e/jobs.py",
        "/static/..%2f..%2fweb%2fapp.py",
        "/runs/../../etc/passwd",
        "/api/runs/../../catalog.duckdb",
        "/api/runs/..%2f..%2fcatalog.duckdb",
        "/../../../../etc/passwd",
    ],
)
def test_raw_traversal_on_live_server(live_server: LiveServer, target: str) -> None:
    status, data = _raw_get(live_server, target)
    assert status in (400, 404), (target, status)
    for leaked in (b"root:", b"[project]", b"def create_app", b"DUCK"):
        assert leaked not in data


def test_live_server_headers(live_server: LiveServer) -> None:
    with live_server.client() as c:
        got = c.get("/")
        assert got.status_code == 200
        assert "default-src 'self'" in got.headers["content-security-policy"]
        assert got.headers["x-content-type-options"] == "nosniff"
        assert "server" not in got.headers
        assert c.get("/api/health", headers={"Host": "attacker.example"}).status_code == 400


# Elements of #controls or #results that reach past their section's right edge, and the page's
# width: a 1,280 px window must need no horizontal scroll (issue 15: 2,279 px at 1,400 px).
_OVERFLOW = """() => {
  const out = [];
  for (const id of ['controls', 'results']) {
    const box = document.getElementById(id).getBoundingClientRect();
    for (const e of document.getElementById(id).querySelectorAll('*')) {
      const r = e.getBoundingClientRect();
      if (r.width && r.right > box.right + 1) out.push(id + ' > ' + e.tagName + '#' + e.id);
    }
  }
  return [document.documentElement.scrollWidth, out];
}"""


def test_dashboard_fits_1280_px(live_server: LiveServer, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=TIMEOUT_MS)
    assert page.evaluate(_OVERFLOW) == [1280, []]
    # The longest variant label (it used to widen the Run box under the results) and a run.
    options = page.eval_on_selector_all(
        "#variant option", "os => os.map(o => [o.value, o.textContent.length])"
    )
    longest = max(options, key=lambda o: o[1])
    assert longest[1] > 60
    page.select_option("#variant", longest[0])
    _run_and_wait(page)
    page.wait_for_selector("#summary tbody tr", timeout=TIMEOUT_MS)
    _shot(page, tmp_path, "dashboard-1280.png")
    assert page.evaluate(_OVERFLOW) == [1280, []]
