/* Interactive charts.
 *
 * Each chart is a <figure class="chart" data-spec="…/x.vl.json"> holding a static SVG <img>
 * (written by the `chart()` macro). This script upgrades it to a Vega view, and leaves the
 * image in place whenever anything fails. The Vega runtime is served by the site itself
 * (generated/vendor/, written by build_data) and imported only on pages that have charts.
 *
 * Material's instant navigation runs this file once, so work is hooked on `document$`,
 * which emits for every page; views of the previous page are finalized first.
 *
 * What a spec (build_data/charts.py, Altair) must contain for this to hold:
 * - Vega-Lite v6 as the pinned Altair writes it; data inline (Altair's `datasets`), < 5,000 rows.
 * - `width: "container"` and a fixed numeric `height`; the static SVG is rendered from the same
 *   spec with a numeric width (e.g. 720) instead.
 * - Dates as "YYYY-MM-DD" strings (never "2026-01-15T00:00:00", which browsers read as local
 *   midnight), and `timeUnit: "utcyearmonthdate"` on every temporal channel, tooltips and text
 *   included, so every time zone shows the same day.
 * - No colours, fonts or background in the spec's `config` (a spec's config wins over the
 *   palette this file passes in); a top-level `description` is welcome.
 */
(() => {
  "use strict";

  const SELECTOR = "figure.chart[data-spec]";
  // This file is served from <site root>/assets/charts.js.
  const here = document.currentScript ? document.currentScript.src : location.href;
  const RUNTIME_URL = new URL("../generated/vendor/vega-bundle.js", here).href;

  let runtime = null; // Promise of the runtime module, created on first need
  const specs = new Map(); // spec URL -> Promise of the parsed spec
  const shown = new Map(); // figure -> {view, result}: the view each figure displays now
  let epoch = 0; // bumps on every page change or re-render; stale async work is dropped

  const loadRuntime = () => {
    runtime ??= import(RUNTIME_URL).catch((err) => {
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

  const isDark = () => document.body.getAttribute("data-md-color-scheme") === "slate";

  // Colours come from Material's CSS variables, so charts follow the palette in both schemes.
  // Specs must not set these themselves: a spec's own config wins over this one.
  const themeConfig = () => {
    const css = getComputedStyle(document.body);
    const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
    const fg = v("--md-default-fg-color", isDark() ? "#e2e4e9" : "#1f1f1f");
    const muted = v("--md-default-fg-color--light", fg);
    const faint = v("--md-default-fg-color--lightest", muted);
    const font = v("--md-text-font-family", "").replace(/^"|"$/g, "") || "system-ui, sans-serif";
    const guide = {
      labelColor: muted, titleColor: fg, domainColor: faint, tickColor: faint, gridColor: faint,
      labelFont: font, titleFont: font,
    };
    return {
      background: null, // transparent: the page colour shows through
      font,
      axis: guide,
      legend: { labelColor: muted, titleColor: fg, labelFont: font, titleFont: font },
      title: { color: fg, subtitleColor: muted, font, subtitleFont: font },
      header: { labelColor: fg, titleColor: fg },
      view: { stroke: null },
      text: { color: fg },
    };
  };

  const dispose = (entry) => {
    try {
      entry.result?.finalize(); // removes Vega's listeners and timers
    } catch (err) {
      console.warn("chart: finalize failed", err);
    }
    entry.view.remove();
  };

  // Draw one figure. The new view is laid out hidden on top of the figure and replaces the
  // image (or the previous view) only once it has drawn, so nothing flickers.
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
      const specUrl = new URL(figure.dataset.spec, location.href).href;
      const [{ default: vegaEmbed }, spec] = await Promise.all([loadRuntime(), loadSpec(specUrl)]);
      if (token === epoch) {
        const dark = isDark();
        entry.result = await vegaEmbed(target, structuredClone(spec), {
          actions: false,
          renderer: "svg",
          theme: dark ? "dark" : undefined,
          config: themeConfig(),
          tooltip: { theme: dark ? "dark" : "light" },
          // Data URLs inside a spec resolve against the spec file, not the page.
          loader: { baseURL: new URL(".", specUrl).href },
        });
      }
      if (token !== epoch) {
        dispose(entry); // the page or the palette changed meanwhile
        return;
      }
      const previous = shown.get(figure);
      if (previous) dispose(previous);
      shown.set(figure, entry);
      view.classList.remove("chart-view--pending");
      if (img) img.hidden = true;
      figure.classList.add("chart--live");
    } catch (err) {
      // Keep what is shown (the static SVG, or the view drawn before): never a blank chart.
      console.warn(`chart ${figure.dataset.chart || figure.dataset.spec}: kept the static image`, err);
      dispose(entry);
    }
  };

  // A new page (instant navigation swaps the content): drop every old view, draw the new ones.
  const renderPage = () => {
    const token = ++epoch;
    shown.forEach(dispose);
    shown.clear();
    // No charts, no runtime download.
    document.querySelectorAll(SELECTOR).forEach((figure) => render(figure, token));
  };

  // Same page, new palette: redraw in place; each old view stays until its successor is drawn.
  const rerender = () => {
    const token = ++epoch;
    document.querySelectorAll(SELECTOR).forEach((figure) => render(figure, token));
  };

  // Re-render with the other palette when the reader flips light/dark. Material also sets the
  // attribute to its current value at start-up: only a real change counts.
  let scheme = document.body.getAttribute("data-md-color-scheme");
  new MutationObserver(() => {
    const now = document.body.getAttribute("data-md-color-scheme");
    if (now === scheme) return;
    scheme = now;
    if (document.querySelector(SELECTOR)) rerender();
  }).observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(renderPage);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", renderPage);
  } else {
    renderPage();
  }
})();
