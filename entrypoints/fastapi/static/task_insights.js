// The detail panel's view of the task's function: its numbers, how long its runs took and
// its latest runs.

import { h } from "./dom.js";
import { formatCount, formatDateTime, formatDuration, formatRate } from "./format.js";
import { statusBadge } from "./widgets.js";

function stat(label, value) {
  return h(
    "div",
    { className: "stat" },
    h("span", { className: "stat-label" }, label),
    h("span", { className: "stat-value" }, value),
  );
}

function numbers(counts) {
  if (!counts) return h("p", { className: "muted" }, "No stored runs of this function yet.");
  return h(
    "div",
    { className: "stats" },
    stat("Runs", formatCount(counts.total)),
    stat("Success rate", formatRate(counts.finished_success_rate)),
    stat("Failed", formatCount(counts.failed)),
    stat("Avg", formatDuration(counts.avg_duration)),
    stat("p95", formatDuration(counts.p95_duration)),
    stat("Max", formatDuration(counts.max_duration)),
  );
}

function recentRuns(task, recent, onOpenTask) {
  if (recent.error) return h("p", { className: "muted" }, "Recent runs could not be loaded.");
  if (recent.tasks === null || recent.funcName !== task.func_name) {
    return h("p", { className: "muted" }, "Loading recent runs…");
  }
  return h(
    "ul",
    { className: "recent-runs" },
    recent.tasks.map((run) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            className: run.task_id === task.task_id ? "recent-run is-current" : "recent-run",
            title: `Open task ${run.task_id}`,
            "aria-current": run.task_id === task.task_id ? "true" : null,
            onClick: () => onOpenTask(run.task_id),
          },
          statusBadge(run.status),
          h("span", { className: "recent-when" }, formatDateTime(run.created_at)),
          h("span", { className: "recent-duration" }, formatDuration(run.duration)),
        ),
      ),
    ),
  );
}

/**
 * The "Function" section: `counts` is the function's entry of the metrics' `by_function`,
 * `recent` its latest runs ({funcName, tasks, error}), `durations` the element holding the
 * function's durations histogram (kept by the panel across redraws).
 */
export function functionInsights(task, counts, recent, onOpenTask, durations) {
  return h(
    "section",
    { className: "detail-section" },
    h("h3", {}, `Function ${task.func_name}`),
    numbers(counts),
    h("h4", {}, "Durations"),
    durations,
    h("h4", {}, "Recent runs"),
    recentRuns(task, recent, onOpenTask),
  );
}
