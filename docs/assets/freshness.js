/* Staleness warning, computed in the reader's browser.
 *
 * The site is rebuilt by a scheduled workflow. If that schedule stops (GitHub disables
 * scheduled workflows after 60 days without repository activity, or every run fails closed),
 * the pages stay up with old numbers. The banner carries the snapshot's as-of date; when it is
 * more than STALE_AFTER_DAYS calendar days old, this adds a plain warning to it.
 */
(() => {
  "use strict";
  const STALE_AFTER_DAYS = 5; // a long weekend plus a holiday is 4 days without a session

  const check = () => {
    const banner = document.querySelector(".data-banner[data-as-of]");
    if (!banner || banner.querySelector(".data-banner__stale")) return;
    const asOf = Date.parse(banner.dataset.asOf + "T00:00:00Z");
    if (Number.isNaN(asOf)) return;
    const days = Math.floor((Date.now() - asOf) / 86400000);
    if (days <= STALE_AFTER_DAYS) return;
    const note = document.createElement("span");
    note.className = "data-banner__stale";
    note.setAttribute("role", "status");
    note.textContent = ` These numbers are ${days} days old: the scheduled rebuild may have stopped.`;
    banner.append(note);
  };

  if (typeof document$ !== "undefined") document$.subscribe(check);
  else document.addEventListener("DOMContentLoaded", check);
})();
