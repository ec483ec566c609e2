// The Schedules tab: periodic entries with their next and last runs.

import { h, replaceChildren } from "./dom.js";
import { formatDateTime } from "./format.js";
import { describeTrigger } from "./functions_tab.js";
import { messageRow, relativeTime, showAlert, statusBadge, taskLink } from "./widgets.js";

const COLUMNS = 8;

function lastRun(entry, onOpenTask) {
  const run = entry.last_run;
  if (!run) return h("span", { className: "muted" }, "never");
  return h(
    "span",
    { className: "last-run" },
    run.status ? statusBadge(run.status) : h("span", { className: "muted" }, "pruned"),
    " ",
    h("span", { title: run.slot }, formatDateTime(run.slot)),
    " ",
    taskLink(run.task_id, onOpenTask),
  );
}

export class SchedulesTab {
  /** @param {{api: import("./api.js").Api, onOpenTask: (taskId: string) => void}} hooks */
  constructor({ api, onOpenTask }) {
    this.api = api;
    this.onOpenTask = onOpenTask;
    this.rows = document.getElementById("schedule-rows");
    this.note = document.getElementById("schedules-note");
    this.error = document.getElementById("schedules-error");
  }

  async load() {
    let overview;
    try {
      overview = await this.api.schedules();
      showAlert(this.error, null);
    } catch (error) {
      showAlert(this.error, error, "Schedules");
      return;
    }
    const entries = [...overview.entries].sort((a, b) => a.next_run.localeCompare(b.next_run));
    const armed = overview.one_off_armed;
    this.note.textContent =
      `${entries.length} periodic entr${entries.length === 1 ? "y" : "ies"}; ` +
      `${armed} one-off run${armed === 1 ? "" : "s"} waiting`;
    if (entries.length === 0) {
      replaceChildren(
        this.rows,
        messageRow(COLUMNS, "No periodic schedules. Add one with @task_manager.schedule(...)."),
      );
      return;
    }
    replaceChildren(
      this.rows,
      entries.map((entry) =>
        h(
          "tr",
          { dataset: { schedule: entry.name } },
          h("td", { className: "fn-cell" }, h("span", { className: "fn-name" }, entry.name)),
          h("td", {}, describeTrigger(entry.trigger)),
          h(
            "td",
            { className: "nowrap" },
            h("span", { className: "next-run" }, formatDateTime(entry.next_run)),
            h("br"),
            relativeTime("span", { className: "muted" }, entry.next_run),
          ),
          h("td", {}, lastRun(entry, this.onOpenTask)),
          h("td", { className: "col-optional" }, entry.missed.replace("_", " ")),
          h("td", { className: "col-optional" }, entry.run_on_startup ? "yes" : "no"),
          h("td", { className: "num col-optional" }, String(entry.retries)),
          h("td", { className: "col-optional" }, entry.executor),
        ),
      ),
    );
  }
}
