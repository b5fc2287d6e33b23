/* Tables, for keyboards and long lists.
 *
 * 1. Material wraps each table in a scrolling box (.md-typeset__scrollwrap). A keyboard user can
 *    only scroll a box that can take focus, so each box becomes a labelled, focusable region
 *    ("Watchlist (table)"), named after the heading above it.
 * 2. The methodology page's table of every number gets a working filter (the box is in the page,
 *    disabled: without JavaScript the full table is there, compact, one line per number), and
 *    sits in a box of its own height, so the page is not a 500-row scroll. A link to a row
 *    (#metric-KEY, from any number on the site) shows that row, clearing the filter if needed.
 * 3. Material's search overlay (role="dialog") gets an accessible name.
 * (The watchlist, drawn as a grid on phones, states its table roles in its HTML: macros/templates.)
 *
 * Runs on every page of Material's instant navigation (document$).
 */
(() => {
  "use strict";

  const headingBefore = (el) => {
    for (let node = el; node && !node.matches("article, .md-content"); node = node.parentElement) {
      for (let prev = node.previousElementSibling; prev; prev = prev.previousElementSibling) {
        if (/^H[1-6]$/.test(prev.tagName)) {
          const copy = prev.cloneNode(true);
          copy.querySelectorAll(".headerlink").forEach((a) => a.remove());
          return copy.textContent.trim();
        }
      }
    }
    return document.title.split(" - ")[0];
  };

  const labelRegions = () => {
    document.querySelectorAll(".md-typeset table").forEach((table) => {
      const box = table.closest(".md-typeset__scrollwrap") || table;
      if (box.hasAttribute("role")) return;
      box.setAttribute("role", "region");
      box.setAttribute("tabindex", "0");
      box.setAttribute("aria-label", `${headingBefore(box)} (table)`);
    });
  };

  // The filter box is in the page's HTML (so nothing moves when this runs), disabled until now.
  let revealCurrent = null;
  window.addEventListener("hashchange", () => revealCurrent?.());

  const addFilter = (bar) => {
    const wrap = bar.nextElementSibling;
    const input = bar.querySelector("input");
    const count = bar.querySelector(".table-filter__count");
    if (!wrap || !wrap.classList.contains(bar.dataset.filter) || !input || !input.disabled) return;
    const rows = [...wrap.querySelectorAll("tbody tr")];
    let texts = null; // read on first use: nothing heavy while the page loads
    const apply = () => {
      const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      if (!words.length && !texts) {
        count.textContent = `${rows.length} numbers`;
        return;
      }
      texts ??= rows.map((r) => r.textContent.toLowerCase());
      let shown = 0;
      rows.forEach((row, i) => {
        const hit = words.every((w) => texts[i].includes(w));
        row.hidden = !hit;
        shown += hit;
      });
      count.textContent = words.length ? `${shown} of ${rows.length} numbers` : `${rows.length} numbers`;
    };
    input.addEventListener("input", apply);
    input.disabled = false;
    wrap.classList.add("metrics-table--filterable");
    apply();
    // A link to a row (#metric-KEY) shows that row, whatever the filter says.
    revealCurrent = () => {
      const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
      if (target && wrap.contains(target)) {
        if (target.closest("tr")?.hidden) {
          input.value = "";
          apply();
        }
        target.scrollIntoView({ block: "center" });
      }
    };
    revealCurrent();
  };

  // Material's search overlay is a dialog without a name: give it one.
  const nameSearch = () => {
    const dialog = document.querySelector('.md-search[role="dialog"]:not([aria-label])');
    dialog?.setAttribute("aria-label", "Search");
  };

  const enhance = () => {
    nameSearch();
    labelRegions();
    revealCurrent = null;
    document.querySelectorAll(".table-filter[data-filter]").forEach(addFilter);
  };

  if (typeof document$ !== "undefined") document$.subscribe(() => requestAnimationFrame(enhance));
  else document.addEventListener("DOMContentLoaded", enhance);
})();
