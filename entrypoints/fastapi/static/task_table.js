// The task list: one row per task, filtered on the page by the free-text search.

import { h, replaceChildren } from "./dom.js";
import {
  formatDateTime,
  formatDuration,
  knownStatus,
  secondsSince,
} from "./format.js";

const COLUMNS = 8;

/** A coloured badge for a status. */
export function statusBadge(status) {
  const known = knownStatus(status);
  return h(
    "span",
    { className: `badge status-${known}` },
    h("span", { className: "badge-dot", "aria-hidden": "true" }),
    status,
  );
}

/** The text the search box looks through: id, function and every tag. */
function haystack(task) {
  const tags = Object.entries(task.tags ?? {}).map(([key, value]) => `${key}:${value} ${key}=${value}`);
  return [task.task_id, task.func_name, ...tags].join(" ").toLowerCase();
}

/** Every word of the query must appear somewhere in the task's id, function or tags. */
export function matchesSearch(task, query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const text = haystack(task);
  return words.every((word) => text.includes(word));
}

function durationCell(task) {
  if (task.status === "running" && task.duration === null && task.start_time) {
    return h(
      "td",
      { className: "num is-elapsed", title: "Running for" },
      formatDuration(secondsSince(task.start_time)),
    );
  }
  return h("td", { className: "num" }, formatDuration(task.duration));
}

function orDash(value) {
  return value === null || value === undefined || value === "" ? "—" : String(value);
}

function row(task, selected, onSelect) {
  const open = () => onSelect(task);
  return h(
    "tr",
    {
      className: selected ? "task-row is-selected" : "task-row",
      tabindex: "0",
      "aria-current": selected ? "true" : null,
      dataset: { taskId: task.task_id },
      onClick: open,
      onKeydown: (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          open();
        }
      },
    },
    h("td", {}, statusBadge(task.status)),
    h(
      "td",
      { className: "col-optional mono muted", title: task.task_id },
      task.task_id.slice(0, 8),
    ),
    h(
      "td",
      { className: "fn-cell" },
      h("span", { className: "fn-name" }, task.func_name),
      task.source === "scheduled"
        ? h("span", { className: "tag-badge", title: "Started by the scheduler" }, "scheduled")
        : null,
    ),
    h("td", { className: "num col-optional" }, orDash(task.priority)),
    h("td", { className: "col-optional" }, orDash(task.executor)),
    h(
      "td",
      { className: task.retries_used > 0 ? "num has-retries" : "num muted" },
      String(task.retries_used),
    ),
    durationCell(task),
    h("td", { className: "nowrap", title: task.created_at }, formatDateTime(task.created_at)),
  );
}

function messageRow(text) {
  return h("tr", { className: "empty-row" }, h("td", { colspan: String(COLUMNS) }, text));
}

/**
 * Renders `tasks` into `tbody`, keeping keyboard focus on the same task across refreshes.
 * Returns how many rows matched the search.
 */
export function renderTasks(tbody, tasks, { query, selectedId, onSelect, emptyText }) {
  const focusedId = tbody.contains(document.activeElement)
    ? document.activeElement.closest("tr")?.dataset.taskId
    : undefined;
  const shown = tasks.filter((task) => matchesSearch(task, query));
  if (tasks.length === 0) {
    replaceChildren(tbody, messageRow(emptyText));
  } else if (shown.length === 0) {
    replaceChildren(tbody, messageRow("No loaded task matches the search."));
  } else {
    replaceChildren(
      tbody,
      shown.map((task) => row(task, task.task_id === selectedId, onSelect)),
    );
  }
  if (focusedId !== undefined) {
    for (const tr of tbody.rows) {
      if (tr.dataset.taskId === focusedId) tr.focus({ preventScroll: true });
    }
  }
  return shown.length;
}

/** Marks the row of the open task without rebuilding the table. */
export function markSelected(tbody, selectedId) {
  for (const tr of tbody.rows) {
    const selected = tr.dataset.taskId !== undefined && tr.dataset.taskId === selectedId;
    tr.classList.toggle("is-selected", selected);
    if (selected) tr.setAttribute("aria-current", "true");
    else tr.removeAttribute("aria-current");
  }
}
