// Small pieces shared by the table and the detail panel.

import { h } from "./dom.js";
import { formatDuration, knownStatus, secondsSince } from "./format.js";

/** A coloured badge for a status. */
export function statusBadge(status) {
  return h(
    "span",
    { className: `badge status-${knownStatus(status)}` },
    h("span", { className: "badge-dot", "aria-hidden": "true" }),
    status,
  );
}

/** Marks tasks the scheduler started rather than application code. */
export function scheduledBadge() {
  return h("span", { className: "tag-badge", title: "Started by the scheduler" }, "scheduled");
}

/**
 * An element showing how long a running task has been running; `updateElapsed` keeps it
 * current between refreshes.
 */
export function elapsed(tag, props, startedAt, prefix = "") {
  return h(
    tag,
    { ...props, dataset: { startedAt, prefix } },
    prefix + formatDuration(secondsSince(startedAt)),
  );
}

/** Advances every running-time display under `root`. */
export function updateElapsed(root) {
  for (const element of root.querySelectorAll("[data-started-at]")) {
    const { startedAt, prefix } = element.dataset;
    element.textContent = (prefix ?? "") + formatDuration(secondsSince(startedAt));
  }
}
