// The Dead letters tab: failed, interrupted and rejected tasks, replayed by selection or by
// time window, each behind a confirmation.

import { confirmAction } from "./confirm.js";
import { h, replaceChildren } from "./dom.js";
import { DEAD_LETTER_STATUSES, formatCount, formatDateTime } from "./format.js";
import { messageRow, showAlert, statusBadge, syncOptions, taskLink } from "./widgets.js";

const COLUMNS = 7;
const PAGE_SIZE = 50;
const WINDOW_MS = { h: 3_600_000, d: 86_400_000 };

const OUTCOMES = {
  dispatched: "started again",
  not_found: "not found",
  not_retryable: "cannot be retried",
  not_registered: "function no longer registered",
  already_retried: "already retried",
};

const el = (id) => document.getElementById(id);

function firstLine(text) {
  if (!text) return "—";
  const line = String(text).split("\n", 1)[0];
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
}

export class DeadLettersTab {
  /**
   * @param {{api: import("./api.js").Api, onOpenTask: (taskId: string) => void,
   *          onReplayed: () => void}} hooks
   */
  constructor({ api, onOpenTask, onReplayed }) {
    this.api = api;
    this.hooks = { onOpenTask, onReplayed };
    this.ui = {
      window: el("dead-window"),
      func: el("dead-function"),
      replaySelected: el("replay-selected"),
      replayWindow: el("replay-window"),
      error: el("dead-error"),
      outcome: el("replay-outcome"),
      selectAll: el("dead-select-all"),
      rows: el("dead-rows"),
      summary: el("dead-summary"),
      more: el("dead-more"),
    };
    this.tasks = [];
    this.nextCursor = null;
    this.selected = new Set();
    this.functionNames = "";
    this.generation = 0;
    this.loaded = false;
    this.busy = false;
    const ui = this.ui;
    ui.window.addEventListener("change", () => this.filtersChanged());
    ui.func.addEventListener("change", () => this.filtersChanged());
    ui.selectAll.addEventListener("change", () => this.selectAll(ui.selectAll.checked));
    ui.replaySelected.addEventListener("click", () => this.replaySelected());
    ui.replayWindow.addEventListener("click", () => this.replayWindow());
    ui.more.addEventListener("click", () => this.load({ more: true }));
  }

  params({ cursor = null, limit = PAGE_SIZE } = {}) {
    const params = new URLSearchParams();
    for (const status of DEAD_LETTER_STATUSES) params.append("status", status);
    const match = /^(\d+)([hd])$/.exec(this.ui.window.value);
    if (match) {
      const after = Date.now() - Number(match[1]) * WINDOW_MS[match[2]];
      params.set("created_after", new Date(after).toISOString());
    }
    if (this.ui.func.value) params.set("func_name", this.ui.func.value);
    params.set("limit", String(limit));
    if (cursor) params.set("cursor", cursor);
    return params;
  }

  filtersChanged() {
    this.generation += 1;
    this.tasks = [];
    this.nextCursor = null;
    this.selected.clear();
    this.render();
    this.load();
  }

  /** Reads the list again (the first pages, or the next one with `more`). */
  async load({ more = false } = {}) {
    const generation = this.generation;
    try {
      const page = more
        ? await this.api.listTasks(this.params({ cursor: this.nextCursor }))
        : await this.api.listTasks(
            this.params({ limit: Math.min(1000, Math.max(PAGE_SIZE, this.tasks.length)) }),
          );
      if (generation !== this.generation) return;
      this.tasks = more ? this.tasks.concat(page.tasks) : page.tasks;
      this.nextCursor = page.nextCursor;
      const listed = new Set(this.tasks.map((task) => task.task_id));
      for (const taskId of this.selected) if (!listed.has(taskId)) this.selected.delete(taskId);
      this.loaded = true;
      showAlert(this.ui.error, null);
    } catch (error) {
      showAlert(this.ui.error, error, "Dead letters");
    }
    this.render();
  }

  setFunctions(names) {
    this.functionNames = syncOptions(this.ui.func, names, "All functions", this.functionNames);
  }

  selectAll(checked) {
    this.selected.clear();
    if (checked) {
      for (const task of this.tasks) if (!task.retried_as) this.selected.add(task.task_id);
    }
    this.render();
  }

  toggle(taskId, checked) {
    if (checked) this.selected.add(taskId);
    else this.selected.delete(taskId);
    this.renderControls();
  }

  render() {
    const ui = this.ui;
    if (!this.loaded) {
      replaceChildren(ui.rows, messageRow(COLUMNS, "Loading…"));
    } else if (this.tasks.length === 0) {
      replaceChildren(ui.rows, messageRow(COLUMNS, "No dead letters in this window."));
    } else {
      replaceChildren(
        ui.rows,
        this.tasks.map((task) => this.row(task)),
      );
    }
    const count = this.tasks.length;
    ui.summary.textContent = `${formatCount(count)} task${count === 1 ? "" : "s"} listed${
      this.nextCursor ? ", more available" : ""
    }`;
    ui.more.hidden = !this.nextCursor;
    this.renderControls();
  }

  row(task) {
    const replayed = Boolean(task.retried_as);
    return h(
      "tr",
      { className: "task-row", dataset: { taskId: task.task_id } },
      h(
        "td",
        { className: "col-check" },
        h("input", {
          type: "checkbox",
          className: "dead-check",
          "aria-label": `Select ${task.func_name} ${task.task_id}`,
          checked: this.selected.has(task.task_id),
          disabled: replayed,
          title: replayed ? "Already replayed" : null,
          onChange: (event) => this.toggle(task.task_id, event.target.checked),
          onClick: (event) => event.stopPropagation(),
        }),
      ),
      h("td", {}, statusBadge(task.status)),
      h(
        "td",
        { className: "fn-cell" },
        h("span", { className: "fn-name" }, task.func_name),
        " ",
        taskLink(task.task_id, this.hooks.onOpenTask),
      ),
      h("td", { className: "col-optional error-cell", title: task.error ?? "" }, firstLine(task.error)),
      h("td", { className: "num col-optional" }, String(task.retries_used ?? 0)),
      h("td", { className: "nowrap" }, formatDateTime(task.end_time ?? task.created_at)),
      h(
        "td",
        { className: "col-optional" },
        replayed ? taskLink(task.retried_as, this.hooks.onOpenTask) : "—",
      ),
    );
  }

  renderControls() {
    const ui = this.ui;
    const count = this.selected.size;
    ui.replaySelected.disabled = this.busy || count === 0;
    ui.replaySelected.textContent = count > 0 ? `Replay selected (${count})` : "Replay selected";
    ui.replayWindow.disabled = this.busy;
    const selectable = this.tasks.filter((task) => !task.retried_as).length;
    ui.selectAll.checked = selectable > 0 && count === selectable;
    ui.selectAll.indeterminate = count > 0 && count < selectable;
    for (const box of ui.rows.querySelectorAll(".dead-check")) {
      box.checked = this.selected.has(box.closest("tr").dataset.taskId);
    }
  }

  async replaySelected() {
    const ids = [...this.selected];
    if (ids.length === 0) return;
    const yes = await confirmAction({
      title: `Replay ${ids.length} task${ids.length === 1 ? "" : "s"}?`,
      text: "Each selected task starts again as a new task with the same arguments.",
      action: "Replay selected",
    });
    if (yes) await this.run(() => this.api.bulkRetry(ids));
  }

  async replayWindow() {
    const window = this.ui.window.selectedOptions[0]?.textContent.trim() ?? "";
    const func = this.ui.func.value;
    const yes = await confirmAction({
      title: "Replay every dead letter of the window?",
      text:
        `Failed, interrupted and rejected ${func ? `${func} ` : ""}tasks of ` +
        `"${window.toLowerCase()}" that were not retried yet start again as new tasks.`,
      action: "Replay window",
    });
    if (yes) await this.run(() => this.api.retryFailed(this.ui.window.value, func));
  }

  async run(request) {
    this.busy = true;
    this.renderControls();
    try {
      const outcome = await request();
      this.showOutcome(outcome);
      this.selected.clear();
      this.hooks.onReplayed();
      await this.load();
    } catch (error) {
      this.ui.outcome.hidden = true;
      showAlert(this.ui.error, error, "Replay");
    } finally {
      this.busy = false;
      this.renderControls();
    }
  }

  showOutcome(outcome) {
    const box = this.ui.outcome;
    const results = outcome.results ?? [];
    replaceChildren(
      box,
      h(
        "p",
        { className: "outcome-head" },
        h("strong", {}, `${formatCount(outcome.dispatched)} dispatched`),
        `, ${formatCount(outcome.skipped)} skipped`,
      ),
      results.length > 0
        ? h(
            "ul",
            { className: "outcome-list" },
            results.map((result) =>
              h(
                "li",
                { className: `outcome-${result.outcome}` },
                taskLink(result.task_id, this.hooks.onOpenTask),
                " ",
                OUTCOMES[result.outcome] ?? result.outcome,
                result.new_task_id ? [" as ", taskLink(result.new_task_id, this.hooks.onOpenTask)] : null,
                result.detail ? h("span", { className: "muted" }, ` (${result.detail})`) : null,
              ),
            ),
          )
        : null,
    );
    box.hidden = false;
  }
}
