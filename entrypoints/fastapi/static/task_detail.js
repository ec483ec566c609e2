// The side panel with everything about one task, and its Cancel button.

import { ApiError } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import {
  formatClock,
  formatDateTime,
  formatDuration,
  isLive,
  orDash,
  parseLogLine,
} from "./format.js";
import { elapsed, scheduledBadge, statusBadge } from "./widgets.js";

function field(label, value, className = "") {
  return [h("dt", {}, label), h("dd", { className }, value)];
}

function section(title, ...content) {
  return h("section", { className: "detail-section" }, h("h3", {}, title), ...content);
}

function durationValue(task) {
  if (task.duration !== null && task.duration !== undefined) return formatDuration(task.duration);
  if (task.status === "running" && task.start_time) {
    return elapsed("span", {}, task.start_time, "running for ");
  }
  return "—";
}

function tagList(tags) {
  const entries = Object.entries(tags ?? {});
  if (entries.length === 0) return h("p", { className: "muted" }, "No tags.");
  return h(
    "ul",
    { className: "chips" },
    entries.map(([key, value]) =>
      h("li", { className: "chip" }, h("span", { className: "chip-key" }, key), value),
    ),
  );
}

function argumentsBlock(task) {
  const args = task.args ?? [];
  const kwargs = task.kwargs ?? {};
  if (args.length === 0 && Object.keys(kwargs).length === 0) {
    const text = task.encrypted
      ? "Hidden: the arguments are stored encrypted."
      : "None shown. Arguments are listed only when TaskAdmin is created with " +
        "display_func_args=True.";
    return h("p", { className: "muted" }, text);
  }
  return [
    args.length > 0 ? h("h4", {}, "args") : null,
    args.length > 0 ? h("pre", { className: "code" }, JSON.stringify(args, null, 2)) : null,
    Object.keys(kwargs).length > 0 ? h("h4", {}, "kwargs") : null,
    Object.keys(kwargs).length > 0
      ? h("pre", { className: "code" }, JSON.stringify(kwargs, null, 2))
      : null,
  ];
}

function logLine(line) {
  const { time, level, message, separator } = parseLogLine(line);
  if (separator !== null) {
    return h(
      "div",
      { className: "log-sep", role: "separator", title: time ?? "" },
      h("span", {}, separator),
    );
  }
  return h(
    "div",
    { className: `log-line level-${level}` },
    time ? h("span", { className: "log-time", title: time }, formatClock(time)) : null,
    level !== "info" ? h("span", { className: "log-level" }, level.toUpperCase()) : null,
    h("span", { className: "log-msg" }, message),
  );
}

export class DetailPanel {
  /**
   * @param {HTMLElement} element The <aside> holding the panel.
   * @param {{api: import("./api.js").Api, onChange: (task: object) => void,
   *          onClose: (taskId: string) => void}} hooks
   */
  constructor(element, { api, onChange, onClose }) {
    this.element = element;
    this.body = element.querySelector("#detail-body");
    this.title = element.querySelector("#detail-title");
    this.api = api;
    this.onChange = onChange;
    this.onClose = onClose;
    this.task = null;
    this.snapshot = "";
    this.message = null;
    this.busy = false;
    // Which collapsible blocks the reader opened or closed, kept across refreshes.
    this.expanded = { error: true, stacktrace: false };
    element.querySelector("#detail-close").addEventListener("click", () => this.close());
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen) this.close();
    });
  }

  get isOpen() {
    return !this.element.hidden;
  }

  get taskId() {
    return this.isOpen && this.task ? this.task.task_id : null;
  }

  /** Shows `task` (opening the panel if needed). */
  open(task) {
    if (this.task?.task_id !== task.task_id) {
      this.message = null;
      this.expanded = { error: true, stacktrace: false };
      this.body.scrollTop = 0;
    }
    this.task = task;
    this.snapshot = "";
    this.render();
    if (!this.isOpen) {
      this.element.hidden = false;
      document.body.classList.add("has-detail");
      this.element.querySelector("#detail-close").focus({ preventScroll: true });
    }
  }

  /** Newer data for the open task; redrawn only if something changed. */
  update(task) {
    if (!this.isOpen || this.task?.task_id !== task.task_id) return;
    this.task = task;
    this.render();
  }

  close() {
    if (!this.isOpen) return;
    const taskId = this.task?.task_id;
    this.element.hidden = true;
    document.body.classList.remove("has-detail");
    this.task = null;
    this.onClose(taskId);
  }

  async cancel() {
    const task = this.task;
    if (!task || this.busy) return;
    if (!window.confirm(`Cancel task ${task.task_id} (${task.func_name})?`)) return;
    this.busy = true;
    this.message = null;
    this.render(true);
    try {
      const updated = await this.api.cancel(task.task_id);
      this.message = { kind: "ok", text: "Cancelled." };
      if (this.task?.task_id === updated.task_id) this.task = updated;
      this.onChange(updated);
    } catch (error) {
      const text =
        error instanceof ApiError
          ? `Could not cancel (${error.status}): ${error.detail}`
          : "Could not cancel: the server did not answer.";
      this.message = { kind: "error", text };
      if (error instanceof ApiError) await this.reload(task.task_id);
    } finally {
      this.busy = false;
      if (this.task?.task_id === task.task_id) this.render(true);
    }
  }

  /** Fetches the task again, e.g. after a refused cancel showed the copy was out of date. */
  async reload(taskId) {
    try {
      const fresh = await this.api.task(taskId);
      if (this.task?.task_id === taskId) this.task = fresh;
      this.onChange(fresh);
    } catch {
      // The error already shown says enough; the panel keeps its copy.
    }
  }

  render(force = false) {
    const task = this.task;
    if (!task) return;
    const snapshot = JSON.stringify([task, this.message, this.busy]);
    if (!force && snapshot === this.snapshot) return;
    this.snapshot = snapshot;
    const scroll = this.body.scrollTop;
    this.title.textContent = task.func_name;
    replaceChildren(
      this.body,
      this.summary(task),
      this.actions(task),
      this.fields(task),
      section("Tags", tagList(task.tags)),
      section("Arguments", argumentsBlock(task)),
      this.problems(task),
      this.logs(task),
    );
    this.body.scrollTop = scroll;
  }

  summary(task) {
    return h(
      "div",
      { className: "detail-summary" },
      statusBadge(task.status),
      task.source === "scheduled" ? scheduledBadge() : null,
      h("code", { className: "mono detail-id" }, task.task_id),
    );
  }

  actions(task) {
    const message = this.message
      ? h(
          "p",
          {
            className: `notice notice-${this.message.kind}`,
            role: this.message.kind === "error" ? "alert" : "status",
          },
          this.message.text,
        )
      : null;
    if (!isLive(task.status)) return message;
    return h(
      "div",
      { className: "detail-actions" },
      h(
        "button",
        {
          type: "button",
          className: "btn btn-danger",
          disabled: this.busy,
          onClick: () => this.cancel(),
        },
        this.busy ? "Cancelling…" : "Cancel task",
      ),
      message,
    );
  }

  fields(task) {
    return h(
      "dl",
      { className: "fields" },
      field("Task ID", task.task_id, "mono"),
      field("Function", task.func_name, "mono"),
      field("Status", task.status),
      field("Source", orDash(task.source)),
      field("Executor", orDash(task.executor)),
      field("Priority", orDash(task.priority)),
      field("Retries used", String(task.retries_used)),
      field("Created", formatDateTime(task.created_at)),
      field("Started", formatDateTime(task.start_time)),
      field("Ended", formatDateTime(task.end_time)),
      field("Duration", durationValue(task)),
      field("Idempotency key", orDash(task.idempotency_key), "mono"),
      field("Encrypted arguments", task.encrypted ? "yes" : "no"),
    );
  }

  collapsible(key, summary, text, className) {
    const details = h(
      "details",
      { className: "collapsible", open: this.expanded[key] },
      h("summary", {}, summary),
      h("pre", { className }, text),
    );
    details.addEventListener("toggle", () => {
      this.expanded[key] = details.open;
    });
    return details;
  }

  problems(task) {
    if (!task.error && !task.stacktrace) return null;
    return section(
      "Error",
      task.error ? this.collapsible("error", "Message", task.error, "code code-error") : null,
      task.stacktrace
        ? this.collapsible("stacktrace", "Stack trace", task.stacktrace, "code")
        : null,
    );
  }

  logs(task) {
    const lines = task.logs ?? [];
    return section(
      `Logs (${lines.length})`,
      lines.length === 0
        ? h("p", { className: "muted" }, "No log lines.")
        : h("div", { className: "logs" }, lines.map(logLine)),
    );
  }
}
