"""The built fixture site in headless Chromium: charts, instant navigation, dark mode, offline.

Debian's chromium is driven by Playwright's Python API (never `playwright install`). The site
is built with site_url equal to the local server's origin, port included, or Material's
instant navigation would silently turn into full page loads.
"""

from __future__ import annotations

import datetime
import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from tests.site_fixtures import REPO, make_site, write_vendor

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")  # the Makefile's variable
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]  # fmt: skip
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHART_PAGES = {"bull-case/": 1, "bear-case/": 1, "deep/nested/charts/": 2}


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # the test output stays readable
        pass


def serve(root, build):
    """Serve root/site on 127.0.0.1 (random port) after `build(origin)` built it for that origin."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root / "site")))
    origin = f"http://127.0.0.1:{httpd.server_address[1]}/"
    run = build(origin)
    assert run.returncode == 0, run.stdout + run.stderr
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield origin
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A fixture site built for, and served from, a local origin."""
    root = tmp_path_factory.mktemp("browser") / "site"
    vendor = write_vendor(tmp_path_factory.mktemp("vendor"))
    yield from serve(root, lambda origin: make_site(root, vendor=vendor).build(site_url=origin))


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` to install Debian's chromium", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Session:
    """A browser context that records requests, refuses any that leave 127.0.0.1, and
    collects console errors and uncaught exceptions."""

    def __init__(self, browser, origin: str, **context_args):
        self.origin = origin
        self.scripts = context_args.get("java_script_enabled", True)
        self.requests: list[str] = []
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": 1400, "height": 900}, **context_args)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def _route(self, route):
        url = route.request.url
        self.requests.append(url)
        if urlsplit(url).hostname != "127.0.0.1" and not url.startswith(("data:", "blob:")):
            self.foreign.append(url)
            return route.abort()
        return route.continue_()

    def goto(self, path: str):
        """Open a page and wait until its scripts have started (they start after the first frame)."""
        self.page.goto(self.origin + path, wait_until="load")
        if self.scripts:
            self.page.wait_for_function("document.documentElement.hasAttribute('data-started')")

    def wait_for_charts(self, count: int, *, scroll: bool = True):
        """Every chart on the page has drawn an svg over its fallback image, which keeps its place
        (hidden). Charts hydrate only near the viewport and once the reader has done something on
        the page, so the pointer moves and each chart is scrolled to first, as a reader would."""
        self.page.mouse.move(2, 2)
        self.page.mouse.move(4, 4)
        if scroll:
            self.page.evaluate("""async () => {
                for (const f of document.querySelectorAll('figure.chart')) {
                    f.scrollIntoView({block: 'center'});
                    await new Promise(r => setTimeout(r, 50));
                }
                window.scrollTo(0, 0);
            }""")
        self.page.wait_for_function(
            """n => {
                const figs = [...document.querySelectorAll('figure.chart')];
                return figs.length === n && figs.every(f => f.classList.contains('chart--live')
                    && f.querySelectorAll('.chart-view').length === 1
                    && f.querySelector('.chart-view:not(.chart-view--pending) svg')
                    && getComputedStyle(f.querySelector('img')).visibility === 'hidden');
            }""",
            arg=count,
            timeout=15_000,
        )

    def navigate(self, title: str, path: str):
        """Follow a nav link (instant navigation) and wait until the new page is in place."""
        self.page.click(f'.md-nav--primary a.md-nav__link:has-text("{title}")')
        self.page.wait_for_url(self.origin + path)
        self.page.wait_for_function("t => document.querySelector('article h1')?.textContent.startsWith(t)", arg=title)

    def runtime_loads(self) -> int:
        return sum(1 for u in self.requests if u.endswith("/generated/vendor/vega-bundle.js"))

    def check_clean(self):
        assert not self.errors, self.errors
        assert not self.foreign, f"requests left 127.0.0.1: {self.foreign}"

    def close(self):
        self.context.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.fixture
def session(browser, server):
    s = Session(browser, server)
    yield s
    s.close()


@pytest.mark.parametrize(("path", "count"), CHART_PAGES.items())
def test_every_chart_renders(session, path, count):
    session.goto(path)
    session.wait_for_charts(count)
    for fig in session.page.query_selector_all("figure.chart"):
        view = fig.query_selector(".chart-view")
        assert view.get_attribute("role") == "img"
        assert view.get_attribute("aria-label") == fig.query_selector("img").get_attribute("alt")
        assert not fig.query_selector("img").is_visible()  # the fallback gave way
        box = view.bounding_box()
        assert box["width"] > 300 and box["height"] > 100, box  # width "container" filled the column
    session.check_clean()


LAYOUT_SHIFT = """() => new Promise(done => {
    let total = 0;
    new PerformanceObserver(list => { for (const e of list.getEntries()) total += e.value; })
        .observe({type: "layout-shift", buffered: true});
    setTimeout(() => done(total), 300);
})"""


def test_charts_hydrate_only_near_the_viewport_or_on_focus(browser, server):
    """Static first: a chart out of view stays the SVG and the runtime is not even fetched; the
    first keyboard focus inside the figure makes it interactive, drawn exactly over the image."""
    s = Session(browser, server)
    try:
        s.page.set_viewport_size({"width": 390, "height": 300})
        s.goto("bull-case/")
        s.page.wait_for_timeout(1500)  # idle, but the chart is far below the fold
        assert s.runtime_loads() == 0
        assert s.page.query_selector_all("figure.chart--live, figure.chart .chart-view") == []
        img = s.page.query_selector("figure.chart img")
        before = img.evaluate("i => { const r = i.getBoundingClientRect(); return [r.width, r.height, r.top + scrollY]; }")
        s.page.focus("figure.chart a.chart-data")  # a keyboard user tabs into the figure
        s.wait_for_charts(1, scroll=False)
        assert s.runtime_loads() == 1
        after = img.evaluate("i => { const r = i.getBoundingClientRect(); return [r.width, r.height, r.top + scrollY]; }")
        assert after == before  # the image keeps its place: nothing below it moves
        view = s.page.query_selector("figure.chart .chart-view").bounding_box()
        box = img.bounding_box()
        assert abs(view["width"] - box["width"]) <= 1 and abs(view["height"] - box["height"]) <= 0.03 * box["height"]
        assert s.page.evaluate(LAYOUT_SHIFT) == 0
        s.check_clean()
    finally:
        s.close()


def test_a_chart_in_view_waits_for_the_reader_then_hydrates_when_idle(session):
    """Loading a page runs no chart code, even for charts in view (the static SVG is what shows):
    the first sign of life from the reader (here the pointer moving, not over a chart) lets the
    charts near the viewport hydrate in idle time, one after the other."""
    session.goto("deep/nested/charts/")
    session.page.wait_for_timeout(1500)
    assert session.runtime_loads() == 0
    assert session.page.query_selector_all("figure.chart--live, figure.chart .chart-view") == []
    session.page.mouse.move(700, 5)  # over the header, nowhere near a chart
    session.page.mouse.move(705, 8)
    session.page.wait_for_selector("figure.chart.chart--live")  # no scroll, no focus
    session.wait_for_charts(2, scroll=False)
    assert session.runtime_loads() == 1
    assert session.page.evaluate(LAYOUT_SHIFT) == 0
    session.check_clean()


RELINKS = """(() => {
    // Every re-assignment of a stylesheet's href, and whether the page had painted by then.
    window.__relinked = [];
    const href = Object.getOwnPropertyDescriptor(HTMLLinkElement.prototype, "href");
    Object.defineProperty(HTMLLinkElement.prototype, "href", {
        get() { return href.get.call(this); },
        set(v) {
            if (this.isConnected && /stylesheet/.test(this.rel)) window.__relinked.push({
                href: this.getAttribute("href"),
                painted: performance.getEntriesByType("paint").length > 0,
                parsed: document.body !== null,  // how far the parser had got
            });
            href.set.call(this, v);
        },
    });
    // The style sheets the first frame is drawn with (animation-frame callbacks run before it).
    requestAnimationFrame(() => {
        window.__sheetsAtFirstFrame = [...document.styleSheets]
            .filter((s) => s.ownerNode && s.ownerNode.tagName === "LINK").map((s) => s.cssRules.length > 0);
    });
})()"""


def test_scripts_start_after_the_first_frame_without_reloading_a_stylesheet(session):
    """The page's scripts are started by a loader after the first frame (macros/theme/main.html).
    Material's instant navigation re-assigns every relative href at start-up, and a stylesheet
    whose href is re-assigned after the first paint is dropped until fetched again: a flash of
    unstyled page. So the head gives each sheet its absolute URL before anything is drawn, and
    Material then leaves them alone: no sheet is re-assigned after the first paint, the first
    frame has all three sheets, and they keep their number and order."""
    session.context.add_init_script(RELINKS)
    for path in ("", "bull-case/"):
        session.goto(path)
        page = session.page
        assert page.evaluate("document.getElementById('__config') !== null && typeof window.document$ === 'object'")
        relinked = page.evaluate("window.__relinked")
        assert [r for r in relinked if r["painted"]] == [], relinked
        assert len(relinked) == 3, relinked  # once each...
        assert not any(r["parsed"] for r in relinked), relinked  # by the head, before the body exists
        assert page.evaluate("window.__sheetsAtFirstFrame") == [True, True, True]
        sheets = page.evaluate("[...document.querySelectorAll('link[rel=stylesheet]')].map(l => l.getAttribute('href'))")
        names = [h.rsplit("/", 1)[-1].split(".")[0] for h in sheets]
        assert names == ["main", "palette", "site"], sheets
        assert all(h.startswith(session.origin) for h in sheets), sheets
        assert page.evaluate("[...document.styleSheets].filter(s => s.ownerNode.tagName === 'LINK').length") == 3
        # Each sheet was fetched once: the head's re-assignment is served from the memory cache.
        fetched = page.evaluate("performance.getEntriesByType('resource').filter(r => r.initiatorType === 'link'"
                                " && /\\.css$/.test(r.name)).map(r => r.name)")
        assert len(fetched) == len(set(fetched)), fetched
        assert page.evaluate(LAYOUT_SHIFT) == 0
        # Nothing is fetched for the scripts before the page's first contentful paint.
        fcp, bundle = page.evaluate("""() => [
            performance.getEntriesByName('first-contentful-paint')[0].startTime,
            performance.getEntriesByType('resource').find(r => r.name.includes('/javascripts/bundle.')).startTime]""")
        assert bundle >= fcp, (bundle, fcp)
    session.check_clean()


START_UP_CHANGES = """(() => {
    // Changes Material's start-up makes to the root's classes and to script URLs after the first
    // paint: each class change on the root restyles the whole page.
    window.__startUpChanges = [];
    const tokens = (v) => (v || "").split(/\\s+/).filter(Boolean).sort().join(" ");
    new MutationObserver((records) => {
        const painted = performance.getEntriesByType("paint").length > 0;
        for (const r of records) {
            const now = r.target.getAttribute(r.attributeName);
            if (!painted) continue;
            if (r.target === document.documentElement && r.attributeName === "class" && tokens(r.oldValue) !== tokens(now))
                window.__startUpChanges.push(["root class", r.oldValue, now]);
            if (r.target.tagName === "SCRIPT" && r.attributeName === "src" && r.oldValue !== now)
                window.__startUpChanges.push(["script src", r.oldValue, now]);
        }
    }).observe(document, { subtree: true, attributes: true, attributeOldValue: true, attributeFilter: ["class", "src"] });
})()"""


def test_start_up_changes_neither_the_root_classes_nor_script_urls_after_the_first_paint(session):
    """The root's classes (js, js-focus-visible) are set before the first paint, and the loader
    gives each script its absolute URL; Material's start-up then finds nothing to change, and the
    palette sheet has no rule that would restyle the whole page when Material marks a switch."""
    session.context.add_init_script(START_UP_CHANGES)
    for path in ("", "bull-case/"):
        session.goto(path)
        page = session.page
        assert page.evaluate("typeof window.document$ === 'object'")
        assert page.evaluate("window.__startUpChanges") == []
        assert page.evaluate("document.documentElement.className").split() == ["js", "js-focus-visible"]
        scripts = page.evaluate("[...document.body.querySelectorAll(':scope > script[src]')].map(s => s.getAttribute('src'))")
        assert len(scripts) >= 2 and all(src.startswith(session.origin) for src in scripts), scripts
        switching = page.evaluate("""[...document.styleSheets].flatMap(s => [...s.cssRules])
            .map(r => r.cssText).filter(t => t.includes('data-md-color-switching'))""")
        assert switching == []
    session.check_clean()


def test_switching_the_palette_changes_every_colour_at_once(session):
    """Transitions are off while the reader switches the palette, and back on after."""
    page = session.page
    session.goto("bear-case/")
    link = "document.querySelector('.md-typeset a[href]')"
    before = page.evaluate(f"getComputedStyle({link}).transitionDuration")
    assert before not in ("", "0s"), before  # Material eases link colours
    page.evaluate(f"""() => {{
        window.__atSwitch = [];
        new MutationObserver(() => window.__atSwitch.push([
            document.body.hasAttribute('data-palette-switching'), getComputedStyle({link}).transitionDuration,
        ])).observe(document.body, {{ attributes: true, attributeFilter: ['data-md-color-scheme'] }});
    }}""")
    page.click("form[data-md-component=palette] label:visible")
    page.wait_for_function("document.body.getAttribute('data-md-color-scheme') === 'slate'")
    page.wait_for_function("!document.body.hasAttribute('data-palette-switching')")
    assert page.evaluate("window.__atSwitch") == [[True, "0s"]]
    assert page.evaluate(f"getComputedStyle({link}).transitionDuration") == before
    page.click("form[data-md-component=palette] label:visible")  # back to light for the next test
    page.wait_for_function("document.body.getAttribute('data-md-color-scheme') === 'default'")
    session.check_clean()


def test_pages_without_charts_do_not_load_the_runtime(session):
    for path in ("", "watchlist/", "methodology/"):
        session.goto(path)
    session.page.wait_for_timeout(300)
    assert session.runtime_loads() == 0
    session.check_clean()


def test_charts_survive_instant_navigation(session):
    page = session.page
    session.goto("")
    page.evaluate("window.__sameDocument = true")  # lost on a full page load

    def navigate(title: str, path: str):
        session.navigate(title, path)
        assert page.evaluate("window.__sameDocument === true"), f"{title}: full page load, not instant"

    navigate("Bull case", "bull-case/")
    session.wait_for_charts(1)
    navigate("Bear case", "bear-case/")
    session.wait_for_charts(1)
    navigate("Watchlist", "watchlist/")
    assert page.query_selector_all("figure.chart") == []
    navigate("Bull case", "bull-case/")
    session.wait_for_charts(1)
    page.go_back()
    page.wait_for_url(session.origin + "watchlist/")
    page.go_back()
    page.wait_for_url(session.origin + "bear-case/")
    page.wait_for_function("document.querySelector('article h1')?.textContent.startsWith('Bear case')")
    session.wait_for_charts(1)
    assert page.evaluate("window.__sameDocument === true")
    assert session.runtime_loads() == 1  # imported once, reused across pages
    # Views of pages left behind were finalized: only the current page's tooltip handler exists.
    assert page.evaluate("document.querySelectorAll('.chart-view').length") == 1
    session.check_clean()


AXIS_FILL = """() => {
    const t = document.querySelector('figure.chart.chart--live .chart-view g.role-axis-label text');
    return t ? getComputedStyle(t).fill : null;
}"""


def axis_label_fill(page) -> str:
    return page.evaluate(AXIS_FILL)


def wait_for_fill(page, *, equal: str | None = None, unequal: str | None = None):
    page.wait_for_function(
        f"([eq, ne]) => {{ const f = ({AXIS_FILL})(); return f && (eq ? f === eq : f !== ne); }}",
        arg=[equal, unequal],
    )


def test_charts_rerender_on_dark_mode_toggle(session):
    page = session.page
    session.goto("bear-case/")
    session.wait_for_charts(1)
    assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == "default"
    light = axis_label_fill(page)
    page.click("form[data-md-component=palette] label:visible")
    page.wait_for_function("document.body.getAttribute('data-md-color-scheme') === 'slate'")
    wait_for_fill(page, unequal=light)
    session.wait_for_charts(1)
    dark = axis_label_fill(page)
    assert dark != light
    # Still fine after navigating in dark mode, and back to light.
    session.navigate("Bull case", "bull-case/")
    session.wait_for_charts(1)
    assert axis_label_fill(page) == dark
    page.click("form[data-md-component=palette] label:visible")
    page.wait_for_function("document.body.getAttribute('data-md-color-scheme') === 'default'")
    wait_for_fill(page, equal=light)
    session.wait_for_charts(1)
    # Two quick toggles: the stale redraw is dropped, one view remains, in the final palette.
    page.click("form[data-md-component=palette] label:visible")
    page.click("form[data-md-component=palette] label:visible")
    page.wait_for_function("document.body.getAttribute('data-md-color-scheme') === 'default'")
    page.wait_for_timeout(500)
    session.wait_for_charts(1)
    assert axis_label_fill(page) == light
    session.check_clean()


@pytest.mark.parametrize("timezone", ["Pacific/Honolulu", "America/New_York", "UTC", "Asia/Tokyo", "Pacific/Kiritimati"])
def test_dates_are_the_same_day_in_every_time_zone(browser, server, timezone):
    s = Session(browser, server, timezone_id=timezone)
    try:
        s.goto("bear-case/")
        s.wait_for_charts(1)
        assert s.page.evaluate("new Date(2026, 0, 15).getTimezoneOffset()") is not None
        labels = s.page.eval_on_selector_all(
            "#chart-rsi .chart-view g.role-axis-label text", "els => els.map(e => e.textContent)"
        )
        assert [x for x in labels if x.startswith("Jan")] == ["Jan 13", "Jan 14", "Jan 15"]
        # The tooltip of the last bar names the same day.
        bars = s.page.query_selector_all("#chart-rsi .chart-view g.role-mark path")
        bars[-1].hover()
        s.page.wait_for_selector("#vg-tooltip-element.visible")
        assert "Jan 15, 2026" in s.page.inner_text("#vg-tooltip-element")
        s.check_clean()
    finally:
        s.close()


RSI_LABELS = """async ([spec, runtime]) => {
    const { vega } = await import(runtime);
    const el = document.createElement("div");
    document.body.append(el);
    const view = new vega.View(vega.parse(spec), { renderer: "svg", container: el });
    await view.runAsync();
    const labels = [...el.querySelectorAll("g.role-axis-label text")].map(t => t.textContent);
    view.finalize();
    el.remove();
    return labels.filter(t => t.startsWith("Jan"));
}"""


def rsi_bars(dates: list[str]) -> dict:
    """A bar per day, compiled to Vega at build time as the site's charts are."""
    from build_data.publish.chart_runtime import compile_to_vega

    return compile_to_vega({
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json", "width": 300, "height": 100,
        "data": {"values": [{"date": d, "v": i} for i, d in enumerate(dates)]}, "mark": "bar",
        "encoding": {"x": {"field": "date", "type": "ordinal", "timeUnit": "utcyearmonthdate", "axis": {"format": "%b %d"}},
                     "y": {"field": "v", "type": "quantitative"}}})


def test_why_specs_need_date_only_strings(browser, server):
    """The contract's reason: Altair writes tz-naive datetimes as "2026-01-15T00:00:00", which
    browsers read as local midnight, so UTC formatting shows Jan 14 east of Greenwich."""
    s = Session(browser, server, timezone_id="Asia/Tokyo")
    try:
        s.goto("bear-case/")
        runtime = s.origin + "generated/vendor/vega-bundle.js"
        good = s.page.evaluate(RSI_LABELS, [rsi_bars(["2026-01-14", "2026-01-15"]), runtime])
        naive = s.page.evaluate(RSI_LABELS, [rsi_bars(["2026-01-14T00:00:00", "2026-01-15T00:00:00"]), runtime])
        assert good == ["Jan 14", "Jan 15"]
        assert naive == ["Jan 13", "Jan 14"]
    finally:
        s.close()


def test_static_svg_stays_when_the_runtime_fails(browser, server):
    s = Session(browser, server)
    try:
        s.context.route("**/vega-bundle.js", lambda route: route.fulfill(status=404, body="missing"))
        s.goto("bull-case/")
        s.page.wait_for_timeout(1000)
        img = s.page.query_selector("figure.chart img")
        assert img.is_visible() and img.evaluate("i => i.complete && i.naturalWidth > 0")
        assert s.page.query_selector_all("figure.chart .chart-view") == []
        assert not [e for e in s.errors if "pageerror" in e]
    finally:
        s.close()


def test_without_javascript_the_static_svg_shows(browser, server):
    s = Session(browser, server, java_script_enabled=False)
    try:
        s.goto("deep/nested/charts/")
        light = s.page.query_selector_all("figure.chart .chart-light img")
        assert len(light) == 2
        for img in light:
            assert img.is_visible() and img.evaluate("i => i.complete && i.naturalWidth > 0")
        # The dark drawings are there for the dark palette only.
        dark = s.page.query_selector_all("figure.chart .chart-dark img")
        assert len(dark) == 2 and not any(img.is_visible() for img in dark)
        assert s.runtime_loads() == 0
    finally:
        s.close()


SHOTS = ["", "bull-case/", "bear-case/", "watchlist/", "methodology/", "authoring/", "deep/nested/charts/"]


@pytest.mark.parametrize("width", [1400, 390])
def test_screenshots_and_no_horizontal_overflow(session, width):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = session.page
    page.set_viewport_size({"width": width, "height": 900})
    for path in SHOTS:
        session.goto(path)
        charts = CHART_PAGES.get(path, 0)
        if charts:
            session.wait_for_charts(charts)
        name = (path.strip("/").replace("/", "-") or "home") + f"-{width}.png"
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
    # One dark-mode shot per width.
    session.goto("bull-case/")
    session.wait_for_charts(1)
    page.click("form[data-md-component=palette] label:visible")
    page.wait_for_function("document.body.getAttribute('data-md-color-scheme') === 'slate'")
    session.wait_for_charts(1)
    page.wait_for_timeout(200)
    page.screenshot(path=str(SCREENSHOTS / f"bull-case-dark-{width}.png"), full_page=True)
    session.check_clean()


def test_stale_snapshot_gets_a_warning_in_the_banner(browser, server):
    """If the scheduled rebuild stops, readers are told how old the numbers are."""
    from tests.site_fixtures import load_fixture_snapshot

    as_of = load_fixture_snapshot()["as_of"]
    for days_later, stale in ((2, False), (40, True)):
        s = Session(browser, server)
        try:
            now = datetime.datetime.fromisoformat(as_of).replace(tzinfo=datetime.timezone.utc) + datetime.timedelta(days=days_later, hours=12)
            s.page.clock.install(time=now)
            s.goto("")
            note = s.page.locator(".data-banner__stale")
            assert note.count() == 1  # in the server's HTML, filled in (or not) while parsing
            if stale:
                assert note.is_visible() and f"{days_later} days old" in note.text_content()
            else:
                s.page.wait_for_timeout(300)
                assert note.is_hidden() and note.text_content() == ""
            s.check_clean()
        finally:
            s.close()


# ---------------------------------------------------------------- the real pages on pipeline output

REAL_CHART_PAGES = {"": 1, "bull-case/": 2, "bear-case/": 3, "watchlist/": 2, "changes/": 0, "methodology/": 0}


@pytest.fixture(scope="module")
def real_server(tmp_path_factory):
    """The real pages and the real chart specs, built from the sample source for this origin."""
    from tests.test_real_site import real_site

    root = tmp_path_factory.mktemp("real-browser") / "site"
    args = ["--source", "sample", "--as-of", "2026-01-16"]
    yield from serve(root, lambda origin: real_site(root, [*args, "--site-url", origin], site_url=origin)[1])


@pytest.mark.parametrize("width", [1400, 390])
def test_real_pages_render_every_chart_cleanly(browser, real_server, width):
    s = Session(browser, real_server)
    try:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        s.page.set_viewport_size({"width": width, "height": 900})
        for path, charts in REAL_CHART_PAGES.items():
            s.goto(path)
            if charts:
                s.wait_for_charts(charts)
            name = "real-" + (path.strip("/") or "home") + f"-{width}.png"
            s.page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
            overflow = s.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
        # Dark mode, then instant navigation to a chart page: the real specs redraw too.
        s.goto("bear-case/")
        s.wait_for_charts(3)
        s.page.click("form[data-md-component=palette] label:visible")
        s.page.wait_for_function("document.body.getAttribute('data-md-color-scheme') === 'slate'")
        s.wait_for_charts(3)
        s.page.screenshot(path=str(SCREENSHOTS / f"real-bear-case-dark-{width}.png"), full_page=True)
        if width == 1400:  # on phones the nav sidebar is a drawer
            s.navigate("Watchlist", "watchlist/")
            s.wait_for_charts(2)
        s.check_clean()
    finally:
        s.close()


CHART_SIZES = """() => [...document.querySelectorAll('figure.chart')].map(f => {
    const img = f.querySelector('img').getBoundingClientRect();
    const view = f.querySelector('.chart-view:not(.chart-view--pending)')?.getBoundingClientRect();
    const label = f.querySelector('.chart-view:not(.chart-view--pending) g.role-axis-label text');
    return {src: f.querySelector('img').currentSrc, img: [img.width, img.height], views: f.querySelectorAll('.chart-view').length,
            view: view ? [view.width, view.height] : null, label: label ? label.getBoundingClientRect().height : 0};
})"""


def test_phones_get_the_narrow_charts_and_wide_screens_the_wide(browser, real_server):
    """At 390 px each chart is its narrow drawing, image and view alike, with text that stays
    readable on the screen; turned to a wide screen, the page swaps both for the wide drawing."""
    s = Session(browser, real_server)
    try:
        s.page.set_viewport_size({"width": 390, "height": 800})
        s.goto("bear-case/")
        s.wait_for_charts(3)
        charts = s.page.evaluate(CHART_SIZES)
        for c in charts:
            assert c["src"].endswith(".narrow.svg"), c
            assert abs(c["view"][0] - c["img"][0]) <= 1 and abs(c["view"][1] - c["img"][1]) <= 0.03 * c["img"][1], c
            assert c["label"] >= 11, c  # axis labels: 11 px drawn at about 1:1 (the wide chart's were about 5 px)
        s.page.set_viewport_size({"width": 1400, "height": 900})
        s.page.wait_for_function(f"() => ({CHART_SIZES})().every(c => !c.src.endsWith('.narrow.svg') && c.views === 1 && c.view"
                                 " && Math.abs(c.view[0] - c.img[0]) <= 1 && Math.abs(c.view[1] - c.img[1]) <= 0.03 * c.img[1])")
        assert s.runtime_loads() == 1
        s.check_clean()
    finally:
        s.close()


# The drawing a reader sees, and the smallest text in it as rendered: the SVG's smallest font size
# times the drawing's width on screen over its own width.
SHOWN_CHARTS = """async () => {
    const out = [];
    for (const f of document.querySelectorAll('figure.chart[data-spec]')) {
        const img = [...f.querySelectorAll('img')].find(i => i.offsetParent !== null);
        if (!img) { out.push([f.dataset.chart, null, null, null]); continue; }
        const loaded = () => img.complete && img.naturalWidth > 0 && img.currentSrc;
        // Below the fold: load it without scrolling. Only an image not loaded yet is switched: the
        // switch makes a loaded one start over (no source, no size) while this reads it.
        if (img.loading === 'lazy' && !loaded()) img.loading = 'eager';
        for (let i = 0; i < 100 && !loaded(); i++) {  // up to 10 s
            await img.decode().catch(() => null);
            if (!loaded()) await new Promise(r => setTimeout(r, 100));
        }
        const src = img.currentSrc, width = img.naturalWidth;
        const text = await (await fetch(src)).text();
        const sizes = [...text.matchAll(/font-size[:=]\\s*"?(\\d+(?:\\.\\d+)?)/g)].map(m => +m[1]);
        out.push([f.dataset.chart, src.split('/').pop(), Math.min(...sizes) * img.clientWidth / width,
                  img.closest('.chart-light, .chart-dark')?.className || null]);
    }
    return out;
}"""


@pytest.mark.parametrize("width", [1400, 390])
def test_static_axis_text_is_at_least_11_px_as_shown(browser, server, width):
    """Before any interaction, at 1400 px and on a 390 px phone, the smallest text of every chart
    drawing is at least 11 px on screen (the narrow drawing on the phone)."""
    s = Session(browser, server)
    try:
        s.page.set_viewport_size({"width": width, "height": 900})
        for path in CHART_PAGES:
            s.goto(path)
            shown = s.page.evaluate(SHOWN_CHARTS)
            assert shown, path
            for cid, name, px, palette in shown:
                assert name and name.endswith(".narrow.svg" if width == 390 else ".svg"), (cid, name)
                assert (".narrow." in name) == (width == 390), (cid, name)
                assert px >= 11, (path, cid, name, px)
                assert palette == "chart-light", (cid, palette)
        s.check_clean()
    finally:
        s.close()


def test_live_axis_text_is_at_least_11_px(browser, server):
    s = Session(browser, server)
    try:
        for width in (1400, 390):
            s.page.set_viewport_size({"width": width, "height": 900})
            s.goto("deep/nested/charts/")
            s.wait_for_charts(2)
            sizes = s.page.evaluate("""() => [...document.querySelectorAll('.chart-view svg')].map(svg => {
                const scale = svg.getBoundingClientRect().width / svg.width.baseVal.value;
                const texts = [...svg.querySelectorAll('g.role-axis text')];
                return Math.min(...texts.map(t => parseFloat(getComputedStyle(t).fontSize))) * scale;
            })""")
            assert len(sizes) == 2 and min(sizes) >= 11, (width, sizes)
    finally:
        s.close()


def test_dark_scheme_shows_the_dark_drawing_with_css_alone(browser, server):
    """With assets/charts.js never loaded, the dark palette still shows the dark drawings: CSS
    on Material's data-md-color-scheme, after a switch and on the next page load alike."""
    s = Session(browser, server)
    try:
        s.context.route("**/assets/charts.js", lambda route: route.fulfill(status=200, body="", content_type="text/javascript"))
        s.goto("bull-case/")
        assert {p for _, _, _, p in s.page.evaluate(SHOWN_CHARTS)} == {"chart-light"}
        s.page.click("form[data-md-component=palette] label:visible")
        s.page.wait_for_function("document.body.getAttribute('data-md-color-scheme') === 'slate'")
        for load in ("switch", "reload"):
            shown = s.page.evaluate(SHOWN_CHARTS)
            assert shown and all(p == "chart-dark" and name.endswith(".dark.svg") for _, name, _, p in shown), (load, shown)
            assert s.page.evaluate("""() => [...document.querySelectorAll('figure.chart .chart-light img')]
                .every(i => i.offsetParent === null)""")
            s.page.reload(wait_until="load")
        assert s.runtime_loads() == 0
        s.page.click("form[data-md-component=palette] label:visible")  # back to light
    finally:
        s.close()


def test_a_tap_shows_the_nearest_values_and_keeps_them_until_the_next_tap(browser, server):
    """On a touch screen: a tap on the chart shows the nearest session's values (a finger lifted
    does not hide them); a tap elsewhere, or Escape, hides them."""
    s = Session(browser, server, has_touch=True, is_mobile=True)
    s.page.set_viewport_size({"width": 390, "height": 800})
    try:
        s.goto("bear-case/")
        fig = s.page.locator("figure.chart").first
        fig.scroll_into_view_if_needed()
        fig.tap()  # the first touch hydrates it
        s.wait_for_charts(1, scroll=False)
        box = s.page.locator("figure.chart .chart-view svg").first.bounding_box()
        tip = s.page.locator(".vg-tooltip")
        for x in (0.5, 0.8):
            s.page.touchscreen.tap(box["x"] + box["width"] * x, box["y"] + box["height"] * 0.5)
            s.page.wait_for_selector(".vg-tooltip.visible")
            s.page.wait_for_timeout(400)
            assert tip.is_visible()
            text = tip.inner_text()
            assert "Date" in text and "RSI-14" in text and "undefined" not in text, text
            # The session shown is a real day of the chart's data.
            assert any(ch.isdigit() for ch in text)
        s.page.touchscreen.tap(5, 5)  # elsewhere on the page
        s.page.wait_for_function("!document.querySelector('.vg-tooltip').classList.contains('visible')")
        s.page.touchscreen.tap(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
        s.page.wait_for_selector(".vg-tooltip.visible")
        s.page.keyboard.press("Escape")
        s.page.wait_for_function("!document.querySelector('.vg-tooltip').classList.contains('visible')")
        s.check_clean()
    finally:
        s.close()


def test_keyboard_steps_through_a_charts_points(session):
    """Tab to a live chart, then the arrow keys show each point's values (Home and End: the first
    and last); Escape hides them."""
    page = session.page
    session.goto("bear-case/")
    session.wait_for_charts(1)
    view = page.locator("figure.chart .chart-view").first
    assert view.get_attribute("tabindex") == "0"
    view.focus()
    tip = page.locator(".vg-tooltip")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector(".vg-tooltip.visible")
    first = tip.inner_text()
    assert "RSI-14" in first and "Jan 13, 2026" in first, first
    page.keyboard.press("End")
    page.wait_for_function("document.querySelector('.vg-tooltip').innerText.includes('Jan 15, 2026')")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("document.querySelector('.vg-tooltip').innerText.includes('Jan 14, 2026')")
    # Shown next to its point: inside the chart.
    box, at = view.bounding_box(), tip.bounding_box()
    assert box["x"] - 20 <= at["x"] <= box["x"] + box["width"] + 20
    page.keyboard.press("Escape")
    page.wait_for_function("!document.querySelector('.vg-tooltip').classList.contains('visible')")
    session.check_clean()
