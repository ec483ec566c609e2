// The task list: one row per task, filtered on the page by the free-text search.

import { h, replaceChildren } from "./dom.js";
import { formatDateTime, formatDuration, orDash } from "./format.js";
import { elapsed, statusBadge } from "./widgets.js";

const COLUMNS = 9;

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
    return elapsed("td", { className: "num is-elapsed", title: "Running for" }, task.start_time);
  }
  return h("td", { className: "num" }, formatDuration(task.duration));
}

// The day, the time and the zone stay whole; on a narrow screen the cell breaks between them
// (and leaves the zone out).
function createdCell(iso) {
  const [day, time, ...zone] = formatDateTime(iso).split(" ");
  return h(
    "td",
    { className: "created", title: iso },
    h("span", {}, day),
    time ? [" ", h("span", {}, time)] : null,
    zone.length > 0 ? [" ", h("span", { className: "zone" }, zone.join(" "))] : null,
  );
}

function row(task, onSelect) {
  const open = () => onSelect(task.task_id);
  return h(
    "tr",
    {
      className: "task-row",
      tabindex: "0",
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
    h("td", { className: "fn-cell" }, h("span", { className: "fn-name" }, task.func_name)),
    h("td", { className: "col-optional" }, orDash(task.queue)),
    h(
      "td",
      { className: task.source === "scheduled" ? "col-optional is-scheduled" : "col-optional" },
      orDash(task.source),
    ),
    h("td", { className: "num col-optional" }, orDash(task.priority)),
    h(
      "td",
      { className: task.retries_used > 0 ? "num col-optional has-retries" : "num col-optional muted" },
      String(task.retries_used ?? 0),
    ),
    durationCell(task),
    createdCell(task.created_at),
  );
}

function messageRow(text) {
  return h("tr", { className: "empty-row" }, h("td", { colspan: String(COLUMNS) }, text));
}

// What each row shows; the table is rebuilt only when this changes, so refreshes keep text
// selections and hover states.
const drawn = new WeakMap();

function fingerprint(tasks, query, emptyText) {
  const fields = tasks.map((t) => [
    t.task_id,
    t.status,
    t.func_name,
    t.source,
    t.queue,
    t.priority,
    t.retries_used,
    t.duration,
    t.start_time,
    t.created_at,
    t.tags,
  ]);
  return JSON.stringify([fields, query, emptyText]);
}

/**
 * Renders `tasks` into `tbody`, keeping keyboard focus on the same task across refreshes.
 * `onSelect` receives the task id of a clicked row. Returns how many rows match the search.
 */
export function renderTasks(tbody, tasks, { query, selectedId, onSelect, emptyText }) {
  const shown = tasks.filter((task) => matchesSearch(task, query));
  const key = fingerprint(tasks, query, emptyText);
  if (drawn.get(tbody) === key) {
    markSelected(tbody, selectedId);
    return shown.length;
  }
  drawn.set(tbody, key);
  const focusedId = tbody.contains(document.activeElement)
    ? document.activeElement.closest("tr")?.dataset.taskId
    : undefined;
  if (tasks.length === 0) {
    replaceChildren(tbody, messageRow(emptyText));
  } else if (shown.length === 0) {
    replaceChildren(tbody, messageRow("No loaded task matches the search."));
  } else {
    replaceChildren(tbody, shown.map((task) => row(task, onSelect)));
  }
  markSelected(tbody, selectedId);
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
