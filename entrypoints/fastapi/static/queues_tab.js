// The Queues tab: each named queue's limits and load, with its limits editable in place.

import { h, replaceChildren } from "./dom.js";
import { formatDuration } from "./format.js";
import { messageRow, showAlert } from "./widgets.js";

const COLUMNS = 8;

function limit(value) {
  return value === null || value === undefined ? "∞" : String(value);
}

/** An empty field means "no limit"; anything else must be a whole number of at least 1. */
function readLimit(input, label) {
  const text = input.value.trim();
  if (text === "") return null;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${label} must be a whole number of at least 1, or empty for no limit`);
  }
  return value;
}

function limitInput(name, value, label) {
  return h("input", {
    type: "number",
    min: "1",
    step: "1",
    inputmode: "numeric",
    className: "queue-input",
    name,
    value: value ?? "",
    placeholder: "no limit",
    "aria-label": label,
  });
}

export class QueuesTab {
  /** @param {{api: import("./api.js").Api}} hooks */
  constructor({ api }) {
    this.api = api;
    this.rows = document.getElementById("queue-rows");
    this.note = document.getElementById("queues-note");
    this.error = document.getElementById("queues-error");
    /** The queue whose limits are being edited; live refreshes wait until it is done. */
    this.editing = null;
    this.queues = [];
  }

  async load() {
    if (this.editing !== null) return;
    try {
      this.queues = await this.api.queues();
      showAlert(this.error, null);
    } catch (error) {
      showAlert(this.error, error, "Queues");
      return;
    }
    this.render();
  }

  render() {
    const full = this.queues.filter((queue) => queue.full).length;
    this.note.textContent =
      `${this.queues.length} queue${this.queues.length === 1 ? "" : "s"} in this instance` +
      (full ? `; ${full} full` : "");
    if (this.queues.length === 0) {
      replaceChildren(this.rows, messageRow(COLUMNS, "No queues."));
      return;
    }
    replaceChildren(
      this.rows,
      this.queues.map((queue) =>
        queue.name === this.editing ? this.editRow(queue) : this.row(queue),
      ),
    );
  }

  row(queue) {
    return h(
      "tr",
      { dataset: { queue: queue.name } },
      h(
        "td",
        { className: "fn-cell" },
        h("span", { className: "fn-name" }, queue.name),
        queue.full ? h("span", { className: "badge status-rejected queue-full" }, "full") : null,
      ),
      h("td", { className: "num queue-running" }, `${queue.running} / ${limit(queue.concurrency)}`),
      h("td", { className: "num queue-pending" }, `${queue.pending} / ${limit(queue.max_size)}`),
      h("td", {}, queue.fair_by ?? h("span", { className: "muted" }, "—")),
      h("td", { className: "num col-optional" }, String(queue.rejected)),
      h("td", { className: "num col-optional" }, String(queue.finished)),
      h("td", { className: "num col-optional" }, formatDuration(queue.avg_duration)),
      h(
        "td",
        { className: "num" },
        h(
          "button",
          {
            type: "button",
            className: "btn queue-edit",
            onClick: () => {
              this.editing = queue.name;
              this.render();
              this.rows.querySelector("input")?.focus();
            },
          },
          "Edit",
        ),
      ),
    );
  }

  editRow(queue) {
    const concurrency = limitInput("concurrency", queue.concurrency, `${queue.name} concurrency`);
    const maxSize = limitInput("max_size", queue.max_size, `${queue.name} max size`);
    const fairBy = h("input", {
      type: "text",
      className: "queue-input",
      name: "fair_by",
      value: queue.fair_by ?? "",
      placeholder: "tag name",
      "aria-label": `${queue.name} fair by`,
    });
    const save = h("button", { type: "submit", className: "btn btn-primary" }, "Save");
    const cancel = h(
      "button",
      {
        type: "button",
        className: "btn",
        onClick: () => {
          this.editing = null;
          showAlert(this.error, null);
          this.render();
        },
      },
      "Cancel",
    );
    const formId = `queue-form-${queue.name}`;
    const form = h("form", {
      id: formId,
      className: "queue-form",
      // Checked below, with a message that says which field is wrong and why.
      novalidate: true,
      onSubmit: async (event) => {
        event.preventDefault();
        let changes;
        try {
          changes = {
            concurrency: readLimit(concurrency, "Concurrency"),
            max_size: readLimit(maxSize, "Max size"),
            fair_by: fairBy.value.trim() || null,
          };
        } catch (error) {
          // Checked here, before asking the server: say what is wrong with the field.
          this.error.textContent = `Queue ${queue.name}: ${error.message}`;
          this.error.hidden = false;
          return;
        }
        save.disabled = true;
        try {
          await this.api.updateQueue(queue.name, changes);
        } catch (error) {
          save.disabled = false;
          showAlert(this.error, error, `Queue ${queue.name}`);
          return;
        }
        this.editing = null;
        await this.load();
      },
    });
    for (const input of [concurrency, maxSize, fairBy]) input.setAttribute("form", formId);
    save.setAttribute("form", formId);
    return h(
      "tr",
      { dataset: { queue: queue.name }, className: "is-editing" },
      h("td", { className: "fn-cell" }, h("span", { className: "fn-name" }, queue.name), form),
      h("td", { className: "num" }, `${queue.running} / `, concurrency),
      h("td", { className: "num" }, `${queue.pending} / `, maxSize),
      h("td", {}, fairBy),
      h("td", { className: "num col-optional" }, String(queue.rejected)),
      h("td", { className: "num col-optional" }, String(queue.finished)),
      h("td", { className: "num col-optional" }, formatDuration(queue.avg_duration)),
      h("td", { className: "num nowrap" }, save, " ", cancel),
    );
  }
}
