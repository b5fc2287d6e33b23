/* Interactive charts, static first.
 *
 * Each chart is a <figure class="chart" data-spec="…/x.vg.json"> holding a static SVG <img> with
 * its width and height set (written by the `chart()` macro): that image is what the page shows
 * first, and it keeps its place in the layout for good. A chart becomes interactive (a Vega view
 * drawn over the image, the same size, so nothing moves) only when it nears the viewport and the
 * browser is idle, or at once on the first pointer or keyboard focus inside the figure. Anything
 * that fails leaves the image in place.
 *
 * Loading a page runs no chart code: hydration near the viewport waits for the reader's first
 * sign of life on the page (a scroll, a key, a pointer or a touch), so the work of drawing a
 * chart never lands among the page's own start-up work, where it would delay the first
 * response to a tap. Even then it is done in steps (import, parse, build the view, draw) that
 * give the main thread back in between, one chart at a time.
 *
 * Phones get a narrow variant of each chart: the figure's <picture> has a <source media=…> with
 * the narrow SVG, and the figure a `data-spec-narrow`. The view drawn is the one matching the
 * image the browser chose (the same media query), and it is redrawn if that changes (a phone
 * turned sideways), so view and image always have the same size.
 *
 * The spec is Vega, compiled from Vega-Lite at build time (build_data/publish/chart_runtime.py),
 * so the runtime is Vega alone: served by the site itself (generated/vendor/), imported at most
 * once per visit, and never on a page whose charts are not looked at.
 *
 * Material's instant navigation runs this file once, so work is hooked on `document$`, which
 * emits for every page; views of the previous page are finalized first.
 *
 * What a spec must contain for this to hold (build_data/compute/charts.py, Altair):
 * - data inline, < 5,000 rows; a fixed width for the compiled view (the fallback's 720 px);
 * - dates as "YYYY-MM-DD" strings and utc time units or scales, so every time zone shows the
 *   same day;
 * - no colours, typefaces or background in its config (a spec's config wins over the palette
 *   this file passes in; text sizes are the spec's own); a top-level `description` is welcome;
 * - `usermeta.dark_colours`: the colours its marks take under the dark palette (the static dark
 *   SVG was drawn with the same map).
 *
 * Each figure holds two drawings, light and dark (`.chart-light`, `.chart-dark`); CSS shows the
 * one of the current palette before this file runs (assets/site.css).
 */
(() => {
  "use strict";

  const SELECTOR = "figure.chart[data-spec]";
  // This file is served from <site root>/assets/charts.js.
  const here = document.currentScript ? document.currentScript.src : location.href;
  const RUNTIME_URL = new URL("../generated/vendor/vega-bundle.js", here).href;
  const NEAR = "200px 0px"; // "nears the viewport": within 200 px of it

  let runtime = null; // Promise of the Vega namespace, created on first need
  const specs = new Map(); // spec URL -> Promise of the parsed spec
  const shown = new Map(); // figure -> {view, result}: the view each figure displays now
  const started = new Set(); // figures of this page whose hydration has begun
  let observer = null; // the current page's IntersectionObserver
  const near = new Set(); // figures of this page within NEAR of the viewport
  // The reader has scrolled, pointed, touched or typed during this visit (before this file ran,
  // the page's script loader noted it on the root element: macros/theme/main.html).
  let engaged = document.documentElement.hasAttribute("data-engaged");
  let epoch = 0; // bumps on every page change or re-render; stale async work is dropped
  let pageNo = 0; // bumps on every page change only

  const loadRuntime = () => {
    runtime ??= import(RUNTIME_URL).then((m) => m.vega).catch((err) => {
      runtime = null; // let a later page retry
      throw err;
    });
    return runtime;
  };

  const loadSpec = (url) => {
    if (!specs.has(url)) {
      specs.set(
        url,
        fetch(url, { credentials: "same-origin" }).then((r) => {
          if (!r.ok) throw new Error(`HTTP ${r.status} for ${url}`);
          return r.json();
        }),
      );
      specs.get(url).catch(() => specs.delete(url));
    }
    return specs.get(url);
  };

  // The narrow variant's media query (from the figure's <picture>), if it has one.
  const narrowMedia = (figure) =>
    figure.dataset.specNarrow ? figure.querySelector("picture > source[media]")?.media || null : null;
  const specOf = (figure) => {
    const media = narrowMedia(figure);
    return media && window.matchMedia(media).matches ? figure.dataset.specNarrow : figure.dataset.spec;
  };

  const isDark = () => document.body.getAttribute("data-md-color-scheme") === "slate";

  // Colours come from Material's CSS variables, so charts follow the palette in both schemes.
  // Vega config (the spec is compiled already): axes, legends, titles and the named styles
  // Vega-Lite's output refers to.
  const themeConfig = () => {
    const css = getComputedStyle(document.body);
    const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
    const fg = v("--md-default-fg-color", isDark() ? "#e2e4e9" : "#1f1f1f");
    const muted = v("--sc-muted", v("--md-default-fg-color--light", fg));
    const faint = v("--md-default-fg-color--lightest", muted);
    const font = v("--md-text-font-family", "").replace(/^"|"$/g, "") || "system-ui, sans-serif";
    return {
      background: "transparent", // the page colour shows through
      axis: { labelColor: muted, titleColor: fg, domainColor: faint, tickColor: faint, gridColor: faint,
              labelFont: font, titleFont: font },
      legend: { labelColor: muted, titleColor: fg, labelFont: font, titleFont: font },
      title: { color: fg, subtitleColor: muted, font, subtitleFont: font },
      text: { fill: fg, font },
      style: {
        "guide-label": { fill: muted, font },
        "guide-title": { fill: fg, font },
        "group-title": { fill: fg, font },
        "group-subtitle": { fill: muted, font },
        cell: { stroke: null },
      },
    };
  };

  // Under the dark palette, the colours of the marks are swapped for the lighter ones the build
  // chose (the spec's usermeta.dark_colours, the map the dark SVGs were drawn with).
  const forPalette = (spec) => {
    const map = isDark() && spec.usermeta && spec.usermeta.dark_colours;
    if (!map) return structuredClone(spec);
    const colours = new RegExp(Object.keys(map).join("|"), "gi");
    return JSON.parse(JSON.stringify(spec).replace(colours, (c) => map[c.toLowerCase()] || c));
  };

  // A small tooltip (vega-embed's is not in the runtime): the values Vega formatted, as text.
  // A pointer shows it while over a point (each chart has an invisible layer that finds the
  // nearest point, build_data/compute/charts.py). A tap or a click shows it too and keeps it
  // ("pinned": a finger lifted is not a pointer leaving) until the next tap or click elsewhere,
  // a scroll, or Escape.
  let tip = null;
  let pinned = false;
  const tooltip = (_handler, event, _item, value) => {
    if (pinned && (value == null || value === "")) return;
    if (!tip) {
      tip = document.createElement("div");
      tip.id = "vg-tooltip-element";
      tip.className = "vg-tooltip";
      tip.setAttribute("role", "tooltip");
      document.body.append(tip);
    }
    if (value == null || value === "") {
      tip.classList.remove("visible");
      return;
    }
    tip.replaceChildren();
    if (typeof value === "object") {
      const table = document.createElement("table");
      for (const [k, val] of Object.entries(value)) {
        const row = table.insertRow();
        const key = row.insertCell();
        key.className = "key";
        key.textContent = k;
        row.insertCell().textContent = String(val);
      }
      tip.append(table);
    } else {
      tip.textContent = String(value);
    }
    tip.classList.add("visible");
    const { innerWidth: w, innerHeight: h } = window;
    const box = tip.getBoundingClientRect();
    let x = event.clientX + 12;
    let y = event.clientY + 12;
    if (x + box.width > w - 4) x = Math.max(4, event.clientX - box.width - 12);
    if (y + box.height > h - 4) y = Math.max(4, event.clientY - box.height - 12);
    tip.style.left = `${x}px`;
    tip.style.top = `${y}px`;
  };
  const hideTip = () => {
    pinned = false;
    tip?.classList.remove("visible");
  };
  // A tap or click on a point: show its values and keep them.
  const pin = (event, item) => {
    if (!item || item.tooltip == null || item.tooltip === "") return;
    pinned = false;
    tooltip(null, event, item, item.tooltip);
    pinned = event.pointerType !== "mouse";
  };
  document.addEventListener("pointerdown", (event) => {
    if (pinned && !event.target.closest?.(".vg-tooltip")) hideTip();
  }, { capture: true, passive: true });
  document.addEventListener("keydown", (event) => event.key === "Escape" && hideTip());

  // Keyboard: a live chart takes focus (Tab); the arrow keys step through its points (Home, End:
  // the first and last) and show each one's values, as a tap would. Escape or leaving hides them.
  const points = (result) => {
    const out = [];
    const walk = (node) => {
      for (const item of node.items || []) {
        const voronoi = item.mark && item.mark.marktype === "path" && item.isVoronoi;
        if (item.tooltip != null && item.tooltip !== "" && !voronoi && item.bounds) out.push(item);
        if (item.items) walk(item);
      }
    };
    walk(result.scenegraph().root);
    const at = (item) => {
      let x = (item.bounds.x1 + item.bounds.x2) / 2;
      let y = (item.bounds.y1 + item.bounds.y2) / 2;
      for (let g = item.mark && item.mark.group; g; g = g.mark && g.mark.group) {
        x += g.x || 0;
        y += g.y || 0;
      }
      return [x, y];
    };
    return out.map((item) => ({ item, xy: at(item) })).sort((a, b) => a.xy[0] - b.xy[0] || a.xy[1] - b.xy[1]);
  };
  const STEP = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
  const keyboard = (view, entry) => {
    view.tabIndex = 0;
    let list = null;
    let index = -1;
    view.addEventListener("keydown", (event) => {
      if (!(event.key in STEP) && event.key !== "Home" && event.key !== "End") return;
      list ??= points(entry.result);
      if (!list.length) return;
      event.preventDefault();
      if (event.key === "Home") index = 0;
      else if (event.key === "End") index = list.length - 1;
      else index = index < 0 ? (STEP[event.key] > 0 ? 0 : list.length - 1)
        : Math.min(list.length - 1, Math.max(0, index + STEP[event.key]));
      const { item, xy } = list[index];
      const svg = view.querySelector("svg");
      const box = svg.getBoundingClientRect();
      const scale = box.width / (svg.width.baseVal.value || box.width);
      const [ox, oy] = entry.result.origin();
      pinned = false;
      tooltip(null, { clientX: box.left + (xy[0] + ox) * scale, clientY: box.top + (xy[1] + oy) * scale }, item,
              item.tooltip);
      pinned = true;
    });
    view.addEventListener("blur", hideTip);
  };
  window.addEventListener("scroll", () => pinned && hideTip(), { passive: true });

  const dispose = (entry) => {
    try {
      entry.result?.finalize(); // removes Vega's listeners and timers
    } catch (err) {
      console.warn("chart: finalize failed", err);
    }
    entry.view.remove();
    hideTip();
  };

  // Draw one figure. The new view is laid out hidden over the figure's image and replaces the
  // image (or the previous view) only once it has drawn, so nothing flickers or moves.
  const render = async (figure, token) => {
    const img = figure.querySelector("img");
    const label = (img && img.getAttribute("alt")) || figure.querySelector("figcaption")?.textContent || "Chart";
    // Vega puts its own ARIA roles on the element it draws into: the wrapper carries ours.
    const view = document.createElement("div");
    view.className = "chart-view chart-view--pending";
    view.setAttribute("role", "img");
    view.setAttribute("aria-label", label);
    const target = document.createElement("div");
    view.append(target);
    figure.insertBefore(view, figure.firstChild);
    const entry = { view, result: null };
    try {
      const specUrl = new URL(specOf(figure), location.href).href;
      const [vega, spec] = await Promise.all([loadRuntime(), loadSpec(specUrl)]);
      await yieldToMain();
      if (token === epoch) {
        const copy = forPalette(spec);
        delete copy.background; // the config's transparent background applies
        const runtimeSpec = vega.parse(copy, themeConfig());
        await yieldToMain();
        if (token === epoch) {
          entry.result = new vega.View(runtimeSpec, {
            renderer: "svg",
            hover: true,
            // Data URLs inside a spec resolve against the spec file, not the page.
            loader: vega.loader({ baseURL: new URL(".", specUrl).href }),
          });
          entry.result.tooltip(tooltip);
          entry.result.addEventListener("click", pin);
          await yieldToMain();
        }
        if (token === epoch) {
          entry.result.initialize(target);
          await entry.result.runAsync();
        }
      }
      if (token !== epoch) {
        dispose(entry); // the page or the palette changed meanwhile
        return;
      }
      const previous = shown.get(figure);
      if (previous) dispose(previous);
      shown.set(figure, entry);
      keyboard(view, entry);
      view.classList.remove("chart-view--pending");
      figure.classList.add("chart--live");
    } catch (err) {
      // Keep what is shown (the static SVG, or the view drawn before): never a blank chart.
      console.warn(`chart ${figure.dataset.chart || figure.dataset.spec}: kept the static image`, err);
      dispose(entry);
    }
  };

  // Give the main thread back between the steps of a hydration (input, paint, other tasks run).
  const yieldToMain = () =>
    window.scheduler?.yield ? window.scheduler.yield() : new Promise((resolve) => setTimeout(resolve, 0));

  // One hydration at a time: two charts drawn in the same task would make one long task.
  let queue = Promise.resolve();
  const enqueue = (job) => {
    queue = queue.then(job, job);
    return queue;
  };

  const idle = window.requestIdleCallback
    ? (fn) => window.requestIdleCallback(fn, { timeout: 3000 })
    : (fn) => window.setTimeout(fn, 200);

  // Hydrate a figure once per page: `now` skips the wait for an idle moment.
  const hydrate = (figure, now = false) => {
    if (started.has(figure)) return;
    started.add(figure);
    observer?.unobserve(figure);
    const page = pageNo;
    const run = () => page === pageNo && render(figure, epoch);
    if (now) enqueue(run);
    else idle(() => page === pageNo && enqueue(run));
  };

  // The reader's first sign of life: from now on, figures near the viewport hydrate when idle.
  const ENGAGE = ["scroll", "wheel", "keydown", "pointerdown", "pointermove", "touchstart"];
  const engage = () => {
    if (engaged) return;
    engaged = true;
    for (const type of ENGAGE) window.removeEventListener(type, engage, { capture: true });
    near.forEach((figure) => hydrate(figure));
  };
  if (!engaged) for (const type of ENGAGE) window.addEventListener(type, engage, { capture: true, passive: true });

  const onTouch = (event) => {
    const figure = event.target.closest?.(SELECTOR);
    if (figure) hydrate(figure, true);
  };
  // Capturing listeners on the document survive instant navigation's content swaps.
  for (const type of ["pointerover", "focusin", "touchstart"]) {
    document.addEventListener(type, onTouch, { capture: true, passive: true });
  }

  // A new page (instant navigation swaps the content): drop every old view, watch the new figures.
  const renderPage = () => {
    ++epoch;
    ++pageNo;
    shown.forEach(dispose);
    shown.clear();
    started.clear();
    near.clear();
    observer?.disconnect();
    observer = null;
    watchMedia([]);
    const figures = document.querySelectorAll(SELECTOR);
    if (!figures.length) return; // no charts, no runtime download
    watchMedia([...figures].map(narrowMedia));
    if (!("IntersectionObserver" in window)) {
      figures.forEach((f) => near.add(f));
      if (engaged) figures.forEach((f) => hydrate(f));
      return;
    }
    observer = new IntersectionObserver(
      (entries) => entries.forEach((e) => {
        if (!e.isIntersecting) near.delete(e.target);
        else {
          near.add(e.target);
          if (engaged) hydrate(e.target);
        }
      }),
      { rootMargin: NEAR },
    );
    figures.forEach((f) => observer.observe(f));
  };

  // Same page, new palette: redraw the charts already hydrated (or hydrating) in place; each
  // old view stays until its successor is drawn. Static images are left as they are.
  const rerender = () => {
    const token = ++epoch;
    started.forEach((figure) => enqueue(() => render(figure, token)));
  };

  // The narrow and the wide image swap places when a media query flips: redraw the views.
  let watched = [];
  const onMedia = () => started.size && rerender();
  const watchMedia = (queries) => {
    watched.forEach((mql) => mql.removeEventListener("change", onMedia));
    watched = [...new Set(queries.filter(Boolean))].map((q) => window.matchMedia(q));
    watched.forEach((mql) => mql.addEventListener("change", onMedia));
  };

  // Re-render with the other palette when the reader flips light/dark. Material also sets the
  // attribute to its current value at start-up: only a real change counts.
  let scheme = document.body.getAttribute("data-md-color-scheme");
  new MutationObserver(() => {
    const now = document.body.getAttribute("data-md-color-scheme");
    if (now === scheme) return;
    scheme = now;
    if (started.size) rerender();
  }).observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(renderPage);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", renderPage);
  } else {
    renderPage();
  }
})();
