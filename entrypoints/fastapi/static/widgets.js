// Small pieces shared by the table and the detail panel.

import { ApiError } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { formatDuration, formatRelative, knownStatus, secondsSince } from "./format.js";

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

/** Marks a task that re-runs an earlier one. */
export function retryBadge() {
  return h("span", { className: "tag-badge", title: "A retry of an earlier task" }, "retry");
}

/** A button naming a task (by its short id) that opens it in the detail panel. */
export function taskLink(taskId, onOpen, label = null) {
  return h(
    "button",
    {
      type: "button",
      className: "link mono",
      title: `Open task ${taskId}`,
      dataset: { openTask: taskId },
      onClick: (event) => {
        event.stopPropagation();
        onOpen(taskId);
      },
    },
    label ?? taskId.slice(0, 8),
  );
}

/** A time shown as "in 3m 20s" / "5.0 s ago"; `updateElapsed` keeps it current. */
export function relativeTime(tag, props, iso) {
  return h(tag, { ...props, dataset: { relativeTo: iso }, title: iso }, formatRelative(iso));
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
  for (const element of root.querySelectorAll("[data-relative-to]")) {
    element.textContent = formatRelative(element.dataset.relativeTo);
  }
}

/** A failed request as one sentence for an alert box. */
export function errorText(error, what) {
  return error instanceof ApiError
    ? `${what}: ${error.detail}`
    : `${what}: the server did not answer.`;
}

/** Shows `error` in an alert box (hides the box for null). */
export function showAlert(box, error, what) {
  box.hidden = error === null;
  if (error !== null) box.textContent = errorText(error, what);
}

/** A table row spanning every column, for "Loading…" and "Nothing here". */
export function messageRow(columns, text) {
  return h("tr", { className: "empty-row" }, h("td", { colspan: String(columns) }, text));
}

/** Refills a filter's options when the names changed, keeping the selection. */
export function syncOptions(select, names, allLabel, previous) {
  const selected = select.value;
  const all = selected && !names.includes(selected) ? [...names, selected] : names;
  const signature = all.join("\n");
  if (signature === previous) return previous;
  replaceChildren(
    select,
    h("option", { value: "" }, allLabel),
    all.map((name) => h("option", { value: name }, name)),
  );
  select.value = selected;
  return signature;
}
