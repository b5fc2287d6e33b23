/* Staleness warning, computed in the reader's browser.
 *
 * The site is rebuilt by a scheduled workflow. If that schedule stops (GitHub disables
 * scheduled workflows after 60 days without repository activity, or every run fails closed),
 * the pages stay up with old numbers. The banner carries the snapshot's as-of date and an empty,
 * hidden warning (macros/theme/main.html); when the date is more than `data-stale-after`
 * calendar days old (5: a long weekend plus a holiday is 4 days without a session), the warning
 * is filled in. A small inline script in the banner does this while the page is parsed, so
 * nothing moves after load; this file does it again after instant navigation.
 */
(() => {
  "use strict";

  const check = () => {
    const banner = document.querySelector(".data-banner[data-as-of]");
    const note = banner && banner.querySelector(".data-banner__stale");
    if (!note || !note.hidden || !banner.dataset.staleAfter) return; // archived weeks: no warning
    const asOf = Date.parse(banner.dataset.asOf + "T00:00:00Z");
    if (Number.isNaN(asOf)) return;
    const days = Math.floor((Date.now() - asOf) / 86400000);
    if (days <= Number(banner.dataset.staleAfter)) return;
    note.textContent = ` These numbers are ${days} days old: the scheduled rebuild may have stopped.`;
    note.hidden = false;
  };

  if (typeof document$ !== "undefined") document$.subscribe(check);
  else document.addEventListener("DOMContentLoaded", check);
})();
