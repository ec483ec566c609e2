// The side panel with everything about one task: fields, links to its retries, the
// function's numbers, durations and recent runs, the replay editor, error, logs; Cancel and
// Retry.

import { ApiError } from "./api.js";
import { ChartSlot } from "./charts.js";
import { confirmAction } from "./confirm.js";
import { h, replaceChildren } from "./dom.js";
import {
  formatClock,
  formatDateTime,
  formatDuration,
  isLive,
  isRetryable,
  orDash,
  parseLogLine,
} from "./format.js";
import { ReplayEditor } from "./replay_editor.js";
import { functionInsights } from "./task_insights.js";
import { elapsed, scheduledBadge, statusBadge, taskLink } from "./widgets.js";

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

function failure(verb, error) {
  return error instanceof ApiError
    ? `Could not ${verb} (${error.status}): ${error.detail}`
    : `Could not ${verb}: the server did not answer.`;
}

// The panel's parts, top to bottom. Each is redrawn only when what it shows changed, so a
// refresh of the logs leaves the replay editor (and what the reader typed) alone.
const PARTS = [
  "summary",
  "actions",
  "links",
  "origin",
  "fields",
  "insights",
  "replay",
  "tags",
  "args",
  "problems",
  "logs",
];

export class DetailPanel {
  /**
   * @param {HTMLElement} element The <aside> holding the panel.
   * @param {{api: import("./api.js").Api, onChange: (task: object) => void,
   *          onClose: (taskId: string) => void, onOpenTask: (taskId: string) => void,
   *          onShowOrigin: (origin: object) => void,
   *          functionCounts: (funcName: string) => object|null}} hooks `onShowOrigin` lists
   *   the tasks of one request, route or user (`{request_id}`, `{method, route}`,
   *   `{principal}`).
   */
  constructor(element, { api, onChange, onClose, onOpenTask, onShowOrigin, functionCounts }) {
    this.element = element;
    this.body = element.querySelector("#detail-body");
    this.title = element.querySelector("#detail-title");
    this.api = api;
    this.hooks = { onChange, onClose, onOpenTask, onShowOrigin, functionCounts };
    this.task = null;
    this.message = null;
    this.busy = null;
    this.recent = { funcName: null, tasks: null, error: null };
    // Which collapsible blocks the reader opened or closed, kept across refreshes.
    this.expanded = { error: true, stacktrace: false };
    this.drawn = new Map();
    this.parts = new Map(PARTS.map((name) => [name, h("div", { className: `part-${name}` })]));
    replaceChildren(this.body, [...this.parts.values()]);
    this.editor = new ReplayEditor({ onSubmit: (edits) => this.retry(edits) });
    // The function's durations histogram: one element, moved into each redraw of its part.
    this.durations = new ChartSlot(h("div", { className: "chart-slot chart-slot-small" }), {
      what: "The durations chart",
      emptyText: "No finished runs with a duration yet.",
    });
    // Whose histogram the slot holds, and the function's counts it was read for.
    this.durationsOf = { funcName: null, counts: null };
    element.querySelector("#detail-close").addEventListener("click", () => this.close());
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen && !document.querySelector("dialog[open]")) {
        this.close();
      }
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
    const other = this.task?.task_id !== task.task_id;
    if (other) {
      this.message = null;
      this.expanded = { error: true, stacktrace: false };
      this.drawn.clear();
      this.editor.reset(task);
      this.body.scrollTop = 0;
    }
    this.task = task;
    if (!this.isOpen) {
      this.element.hidden = false;
      document.body.classList.add("has-detail");
      this.element.querySelector("#detail-close").focus({ preventScroll: true });
    }
    this.render();
    if (other || this.recent.funcName !== task.func_name) this.loadRecent();
  }

  /** Newer data for the open task; parts are redrawn only if they changed. */
  update(task) {
    if (!this.isOpen || this.task?.task_id !== task.task_id) return;
    this.task = { ...this.task, ...task };
    this.render();
  }

  close() {
    if (!this.isOpen) return;
    const taskId = this.task?.task_id;
    this.element.hidden = true;
    document.body.classList.remove("has-detail");
    this.task = null;
    this.recent = { funcName: null, tasks: null, error: null };
    this.durationsOf = { funcName: null, counts: null };
    this.durations.clear();
    this.hooks.onClose(taskId);
  }

  /**
   * Reads the histogram of the function's durations when the function or its counts changed
   * (the counts follow the metrics refresh, so the chart moves with the numbers above it).
   */
  syncDurations(counts) {
    const funcName = this.task?.func_name;
    if (!funcName) return;
    const key = JSON.stringify(counts ?? null);
    const seen = this.durationsOf;
    if (seen.funcName === funcName && seen.counts === key) return;
    // Another function's chart must not stand in for this one's while it loads.
    if (seen.funcName !== funcName) this.durations.clear();
    this.durationsOf = { funcName, counts: key };
    this.durations.load(funcName, () => this.api.durationsChart(funcName));
  }

  /** Reads the function's recent runs again (after changes of that function). */
  async loadRecent() {
    const task = this.task;
    if (!task) return;
    const funcName = task.func_name;
    const params = new URLSearchParams({ func_name: funcName, limit: "8" });
    try {
      const page = await this.api.listTasks(params);
      if (this.task?.func_name !== funcName) return;
      this.recent = { funcName, tasks: page.tasks, error: null };
    } catch (error) {
      if (this.task?.func_name !== funcName) return;
      this.recent = { funcName, tasks: null, error };
    }
    this.render();
  }

  async cancel() {
    const task = this.task;
    if (!task || this.busy) return;
    const yes = await confirmAction({
      title: "Cancel this task?",
      text: `${task.func_name} (${task.task_id}) stops now and will not run again.`,
      action: "Cancel task",
      danger: true,
    });
    if (!yes) return;
    await this.act("cancel", task, async () => {
      const updated = await this.api.cancel(task.task_id);
      this.message = { kind: "ok", text: "Cancelled." };
      if (this.task?.task_id === updated.task_id) this.task = updated.task ?? updated;
      this.hooks.onChange(updated.task ?? updated);
    });
  }

  /** Runs the task again; `edits` ({kwargs?, tags?}) replays it with changes. */
  async retry(edits = undefined) {
    const task = this.task;
    if (!task || this.busy) return;
    const what = edits ? "with your changes" : "with the same arguments";
    const yes = await confirmAction({
      title: edits ? "Replay with changes?" : "Retry this task?",
      text: `A new ${task.func_name} task starts ${what}; this one stays as it is.`,
      action: edits ? "Replay" : "Retry",
    });
    if (!yes) return;
    await this.act("retry", task, async () => {
      const answer = await this.api.retry(task.task_id, edits);
      this.message = { kind: "ok", text: "Started again as ", link: answer.task_id };
      if (this.task?.task_id === task.task_id) {
        this.task = { ...this.task, retried_as: answer.task_id };
      }
      this.hooks.onChange(answer.task);
      this.loadRecent();
    });
  }

  async act(verb, task, job) {
    this.busy = verb;
    this.message = null;
    this.render();
    try {
      await job();
    } catch (error) {
      this.message = { kind: "error", text: failure(verb, error) };
      if (error instanceof ApiError) await this.reload(task.task_id);
    } finally {
      this.busy = null;
      if (this.task?.task_id === task.task_id) this.render();
    }
  }

  /** Fetches the task again, e.g. after a refused action showed the copy was out of date. */
  async reload(taskId) {
    try {
      const fresh = await this.api.task(taskId);
      if (this.task?.task_id === taskId) this.task = fresh;
      this.hooks.onChange(fresh);
    } catch {
      // The error already shown says enough; the panel keeps its copy.
    }
  }

  render() {
    const task = this.task;
    if (!task) return;
    this.title.textContent = task.func_name;
    const counts = this.hooks.functionCounts(task.func_name);
    const scroll = this.body.scrollTop;
    this.part("summary", [task.task_id, task.status, task.source], () => this.summary(task));
    this.part("actions", [task.status, this.busy, this.message], () => this.actions(task));
    this.part("links", [task.retried_from, task.retried_as], () => this.links(task));
    this.part("origin", task.provenance ?? null, () => this.origin(task.provenance));
    this.part("fields", task, () => this.fields(task));
    this.part("insights", [task.task_id, counts, this.recent], () =>
      functionInsights(task, counts, this.recent, this.hooks.onOpenTask, this.durations.element),
    );
    this.syncDurations(counts);
    this.part("replay", [task.task_id, isRetryable(task.status), task.encrypted], () =>
      isRetryable(task.status) ? this.editor.element(task) : null,
    );
    this.editor.setBusy(this.busy !== null);
    this.part("tags", task.tags, () => section("Tags", tagList(task.tags)));
    this.part("args", [task.args, task.kwargs, task.encrypted], () =>
      section("Arguments", argumentsBlock(task)),
    );
    this.part("problems", [task.error, task.stacktrace], () => this.problems(task));
    this.part("logs", task.logs ?? null, () => this.logs(task));
    this.body.scrollTop = scroll;
  }

  part(name, inputs, build) {
    const key = JSON.stringify(inputs ?? null);
    if (this.drawn.get(name) === key) return;
    this.drawn.set(name, key);
    replaceChildren(this.parts.get(name), build());
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
          this.message.link ? taskLink(this.message.link, this.hooks.onOpenTask) : null,
        )
      : null;
    const buttons = [];
    if (isLive(task.status)) {
      buttons.push(
        h(
          "button",
          {
            type: "button",
            className: "btn btn-danger",
            disabled: this.busy !== null,
            onClick: () => this.cancel(),
          },
          this.busy === "cancel" ? "Cancelling…" : "Cancel task",
        ),
      );
    }
    if (isRetryable(task.status)) {
      buttons.push(
        h(
          "button",
          {
            type: "button",
            className: "btn btn-primary",
            disabled: this.busy !== null,
            title: task.retried_as ? "Already retried: retry the newer task instead" : null,
            onClick: () => this.retry(),
          },
          this.busy === "retry" ? "Retrying…" : "Retry",
        ),
      );
    }
    if (buttons.length === 0) return message;
    return h("div", { className: "detail-actions" }, buttons, message);
  }

  links(task) {
    if (!task.retried_from && !task.retried_as) return null;
    return h(
      "div",
      { className: "retry-links" },
      task.retried_from
        ? h("p", {}, "Retry of ", taskLink(task.retried_from, this.hooks.onOpenTask))
        : null,
      task.retried_as
        ? h("p", {}, "Retried as ", taskLink(task.retried_as, this.hooks.onOpenTask))
        : null,
    );
  }

  /** Where the task came from: the request's method and route, its id and its user. */
  origin(provenance) {
    if (!provenance) {
      return section(
        "Enqueued by",
        h("p", { className: "muted" }, "No request: start-up code, a schedule or a script."),
      );
    }
    const show = (origin, label, title) =>
      h(
        "button",
        {
          type: "button",
          className: "link",
          title,
          onClick: () => this.hooks.onShowOrigin(origin),
        },
        label,
      );
    const { method, route, request_id: requestId, principal } = provenance;
    const request = [method, route].filter(Boolean).join(" ");
    return section(
      "Enqueued by",
      h(
        "dl",
        { className: "fields origin" },
        field(
          "Request",
          request
            ? show({ method, route }, request, "List the tasks enqueued through this route")
            : "—",
          "mono",
        ),
        field(
          "Request ID",
          requestId
            ? show({ request_id: requestId }, requestId, "List the tasks of this request")
            : "—",
          "mono",
        ),
        field(
          "Principal",
          principal
            ? show({ principal }, principal, "List the tasks this user's requests enqueued")
            : "—",
        ),
        provenance.trace_parent ? field("Trace", provenance.trace_parent, "mono") : null,
      ),
    );
  }

  fields(task) {
    return h(
      "dl",
      { className: "fields" },
      field("Task ID", task.task_id, "mono"),
      field("Function", task.func_name, "mono"),
      field("Status", task.status),
      field("Queue", orDash(task.queue)),
      field("Source", orDash(task.source)),
      field("Executor", orDash(task.executor)),
      field("Priority", orDash(task.priority)),
      task.timeout != null ? field("Timeout", `${formatDuration(task.timeout)} per attempt`) : null,
      field("Retries used", String(task.retries_used ?? 0)),
      task.crash_reruns ? field("Crash re-runs", String(task.crash_reruns)) : null,
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
    const lines = task.logs;
    if (!Array.isArray(lines)) return section("Logs", h("p", { className: "muted" }, "Loading…"));
    return section(
      `Logs (${lines.length})`,
      lines.length === 0
        ? h("p", { className: "muted" }, "No log lines.")
        : h("div", { className: "logs" }, lines.map(logLine)),
    );
  }
}
