// The Tasks tab: every registered function and how it runs.

import { h, replaceChildren } from "./dom.js";
import { formatCount, formatDuration, formatRate, orDash } from "./format.js";
import { messageRow, showAlert } from "./widgets.js";

const COLUMNS = 9;

/** "every 5m 0s" or "cron 0 3 * * * (Europe/Paris)". */
export function describeTrigger(trigger) {
  if (!trigger) return "—";
  if (trigger.type === "interval") return `every ${formatDuration(trigger.every)}`;
  if (trigger.type === "cron") {
    return `cron ${trigger.cron}${trigger.timezone ? ` (${trigger.timezone})` : ""}`;
  }
  return trigger.type;
}

function retryDelay(fn) {
  if (!fn.retries) return "—";
  const base = formatDuration(fn.delay);
  return fn.backoff && fn.backoff !== 1 ? `${base} × ${fn.backoff}` : base;
}

function options(fn) {
  const flags = [];
  // `persist` is accepted for compatibility only (every task is stored), so it is not shown.
  if (fn.eager) flags.push("eager");
  if (fn.requeue_on_interrupt) flags.push("requeue on interrupt");
  if (fn.timeout != null) flags.push(`timeout ${formatDuration(fn.timeout)}`);
  return flags.length > 0
    ? h("span", { className: "flags" }, flags.map((flag) => h("span", { className: "flag" }, flag)))
    : "—";
}

export class FunctionsTab {
  /** @param {{api: import("./api.js").Api, onShowRuns: (name: string) => void}} hooks */
  constructor({ api, onShowRuns }) {
    this.api = api;
    this.onShowRuns = onShowRuns;
    this.rows = document.getElementById("function-rows");
    this.note = document.getElementById("functions-note");
    this.error = document.getElementById("functions-error");
    this.functions = null;
    this.metrics = null;
  }

  async load() {
    try {
      this.functions = await this.api.functions();
      showAlert(this.error, null);
    } catch (error) {
      showAlert(this.error, error, "Functions");
    }
    this.render();
  }

  setMetrics(metrics) {
    this.metrics = metrics;
    if (this.functions !== null) this.render();
  }

  render() {
    if (this.functions === null) return;
    const list = [...this.functions].sort((a, b) => a.name.localeCompare(b.name));
    this.note.textContent = `${list.length} function${list.length === 1 ? "" : "s"}`;
    if (list.length === 0) {
      replaceChildren(this.rows, messageRow(COLUMNS, "No task functions are registered."));
      return;
    }
    replaceChildren(
      this.rows,
      list.map((fn) => {
        const counts = this.metrics?.by_function?.[fn.name];
        return h(
          "tr",
          { dataset: { function: fn.name } },
          h("td", { className: "fn-cell" }, h("span", { className: "fn-name" }, fn.name)),
          h("td", {}, fn.executor),
          h("td", { className: "num" }, String(fn.retries)),
          h("td", { className: "col-optional" }, retryDelay(fn)),
          h("td", { className: "num col-optional" }, orDash(fn.priority)),
          h("td", { className: "col-optional" }, options(fn)),
          h("td", { className: "col-optional" }, describeTrigger(fn.schedule)),
          h(
            "td",
            { className: "num" },
            h(
              "button",
              {
                type: "button",
                className: "link",
                title: `Show the runs of ${fn.name}`,
                onClick: () => this.onShowRuns(fn.name),
              },
              formatCount(counts?.total ?? 0),
            ),
          ),
          h(
            "td",
            { className: "num col-optional" },
            formatRate(counts?.finished_success_rate ?? null),
          ),
        );
      }),
    );
  }
}
