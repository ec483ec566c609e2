// The Audit tab (only with authentication on): who did what to which tasks.

import { h, replaceChildren } from "./dom.js";
import { formatCount, formatDateTime, orDash } from "./format.js";
import { messageRow, showAlert, taskLink } from "./widgets.js";

const COLUMNS = 5;
const PAGE_SIZE = 50;
// Typing in a filter box waits this long for the next key before asking the server.
const TYPING_MS = 300;

const el = (id) => document.getElementById(id);

// Retention runs on its own schedule, on nobody's behalf.
function actorText(entry) {
  return entry.actor ?? (entry.action === "retention" ? "system" : null);
}

function detailText(detail) {
  const entries = Object.entries(detail ?? {});
  if (entries.length === 0) return "—";
  return entries
    .map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join("; ");
}

export class AuditTab {
  /** @param {{api: import("./api.js").Api, onOpenTask: (taskId: string) => void}} hooks */
  constructor({ api, onOpenTask }) {
    this.api = api;
    this.onOpenTask = onOpenTask;
    this.ui = {
      form: el("audit-filters"),
      action: el("audit-action"),
      actor: el("audit-actor"),
      task: el("audit-task"),
      error: el("audit-error"),
      rows: el("audit-rows"),
      summary: el("audit-summary"),
      more: el("audit-more"),
    };
    this.entries = [];
    this.nextCursor = null;
    this.generation = 0;
    this.loaded = false;
    let timer = null;
    const changed = () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.filtersChanged(), TYPING_MS);
    };
    this.ui.form.addEventListener("submit", (event) => event.preventDefault());
    this.ui.action.addEventListener("change", () => this.filtersChanged());
    this.ui.actor.addEventListener("input", changed);
    this.ui.task.addEventListener("input", changed);
    this.ui.more.addEventListener("click", () => this.load({ more: true }));
  }

  params(cursor) {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    const { action, actor, task } = this.ui;
    if (action.value) params.set("action", action.value);
    if (actor.value.trim()) params.set("actor", actor.value.trim());
    if (task.value.trim()) params.set("task_id", task.value.trim());
    if (cursor) params.set("cursor", cursor);
    return params;
  }

  filtersChanged() {
    this.generation += 1;
    this.entries = [];
    this.nextCursor = null;
    this.load();
  }

  async load({ more = false } = {}) {
    const generation = this.generation;
    try {
      const page = await this.api.audit(this.params(more ? this.nextCursor : null));
      if (generation !== this.generation) return;
      this.entries = more ? this.entries.concat(page.items) : page.items;
      this.nextCursor = page.nextCursor;
      this.loaded = true;
      showAlert(this.ui.error, null);
    } catch (error) {
      showAlert(this.ui.error, error, "Audit log");
    }
    this.render();
  }

  render() {
    const { rows, summary, more } = this.ui;
    if (!this.loaded) {
      replaceChildren(rows, messageRow(COLUMNS, "Loading…"));
    } else if (this.entries.length === 0) {
      replaceChildren(rows, messageRow(COLUMNS, "No recorded actions match."));
    } else {
      replaceChildren(
        rows,
        this.entries.map((entry) =>
          h(
            "tr",
            { dataset: { entryId: entry.entry_id } },
            h("td", { className: "nowrap", title: entry.at }, formatDateTime(entry.at)),
            h("td", {}, orDash(actorText(entry))),
            h("td", {}, h("span", { className: "action" }, entry.action.replaceAll("_", " "))),
            h(
              "td",
              { className: "audit-tasks" },
              entry.task_ids.length === 0
                ? "—"
                : entry.task_ids.slice(0, 5).map((taskId) => taskLink(taskId, this.onOpenTask)),
              entry.task_ids.length > 5
                ? h("span", { className: "muted" }, ` +${entry.task_ids.length - 5}`)
                : null,
            ),
            h("td", { className: "col-optional audit-detail" }, detailText(entry.detail)),
          ),
        ),
      );
    }
    const count = this.entries.length;
    summary.textContent = `${formatCount(count)} entr${count === 1 ? "y" : "ies"} loaded${
      this.nextCursor ? ", more available" : ""
    }`;
    more.hidden = !this.nextCursor;
  }
}
