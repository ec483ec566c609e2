// The overview cards: counts per status, success rate and durations.

import { formatCount, formatDuration, formatRate } from "./format.js";

const FORMATTERS = {
  success_rate: formatRate,
  avg_duration: formatDuration,
  p95_duration: formatDuration,
};

/**
 * Fills the cards from a metrics object (the whole store, or one function's entry of
 * `by_function`) and marks the card of the status currently filtered on.
 */
export function renderMetrics(container, counts, activeStatus) {
  for (const card of container.querySelectorAll("[data-metric]")) {
    const key = card.dataset.metric;
    const format = FORMATTERS[key] ?? formatCount;
    const value = counts ? counts[key] : null;
    card.querySelector(".card-value").textContent = counts ? format(value) : "–";
    if (key === "rejected") card.hidden = !(value > 0) && activeStatus !== "rejected";
    if ("filterStatus" in card.dataset) {
      const active = card.dataset.filterStatus === activeStatus && activeStatus !== "";
      card.classList.toggle("is-active", active);
      card.setAttribute("aria-pressed", String(active));
    }
  }
}
