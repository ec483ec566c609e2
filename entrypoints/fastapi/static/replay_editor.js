// Edit and replay: new keyword arguments (JSON) and tags for a retry of a finished task.

import { h, replaceChildren } from "./dom.js";

/** Longest tag key or value the server stores. */
const MAX_TAG_LENGTH = 255;

/**
 * Reads the kwargs text. An empty text means "no keyword arguments".
 * @returns {{value?: object, error?: string}}
 */
export function parseKwargs(text) {
  if (text.trim() === "") return { value: {} };
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { error: `Not valid JSON: ${error.message}` };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { error: 'kwargs must be a JSON object, e.g. {"user_id": 42}' };
  }
  return { value };
}

/**
 * Checks the tag rows ([key, value] pairs; rows with neither are ignored).
 * @returns {{value?: object, error?: string}}
 */
export function parseTags(rows) {
  const tags = {};
  for (const [rawKey, value] of rows) {
    const key = rawKey.trim();
    if (key === "" && value === "") continue;
    if (key === "") return { error: "Every tag needs a name." };
    if (key in tags) return { error: `Tag "${key}" appears twice.` };
    if (key.length > MAX_TAG_LENGTH || value.length > MAX_TAG_LENGTH) {
      return { error: `Tag names and values hold at most ${MAX_TAG_LENGTH} characters.` };
    }
    tags[key] = value;
  }
  return { value: tags };
}

function sameJson(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class ReplayEditor {
  /** @param {{onSubmit: (edits: object|undefined) => void}} hooks */
  constructor({ onSubmit }) {
    this.onSubmit = onSubmit;
    this.root = null;
    this.task = null;
  }

  /** Starts over for another task (what was typed for the previous one is dropped). */
  reset(task) {
    this.task = task;
    this.root = null;
  }

  setBusy(busy) {
    if (this.submit) this.submit.disabled = busy || !this.valid;
    this.busy = busy;
  }

  /** The editor, built once per task and kept while the panel refreshes. */
  element(task) {
    if (this.root !== null && this.task?.task_id === task.task_id) return this.root;
    this.task = task;
    this.originalKwargs = task.kwargs ?? {};
    this.originalTags = task.tags ?? {};
    const locked = Boolean(task.encrypted);
    this.kwargs = h(
      "textarea",
      {
        id: "replay-kwargs",
        className: "code-input",
        rows: "6",
        spellcheck: "false",
        autocomplete: "off",
        disabled: locked,
        "aria-describedby": "replay-kwargs-hint",
        onInput: () => this.validate(),
      },
      JSON.stringify(this.originalKwargs, null, 2),
    );
    this.kwargsHint = h("p", { id: "replay-kwargs-hint", className: "field-hint" });
    this.tagRows = h("div", { className: "tag-rows" });
    this.problem = h("p", { className: "field-error", role: "alert", hidden: true });
    this.submit = h(
      "button",
      { type: "button", className: "btn btn-primary", onClick: () => this.send() },
      "Replay with changes",
    );
    replaceChildren(this.tagRows);
    const entries = Object.entries(this.originalTags);
    for (const [key, value] of entries) this.addTagRow(key, value);
    if (entries.length === 0) this.addTagRow("", "");
    const hidden =
      !locked && (task.args ?? []).length === 0 && Object.keys(this.originalKwargs).length === 0;
    this.root = h(
      "details",
      { className: "detail-section replay" },
      h("summary", {}, "Edit and replay"),
      h("label", { className: "field-label", for: "replay-kwargs" }, "kwargs (JSON object)"),
      this.kwargs,
      this.kwargsHint,
      locked
        ? h(
            "p",
            { className: "muted" },
            "The arguments are stored encrypted: the task can be replayed with them " +
              "unchanged, but they cannot be edited here.",
          )
        : hidden
          ? h(
              "p",
              { className: "muted" },
              "No arguments shown. Unless TaskAdmin has display_func_args=True, leave kwargs " +
                "as they are: the task then runs with its stored arguments.",
            )
          : null,
      (task.args ?? []).length > 0
        ? h("p", { className: "muted" }, "Positional arguments are replayed as they were.")
        : null,
      h("span", { className: "field-label" }, "Tags"),
      this.tagRows,
      h(
        "button",
        {
          type: "button",
          className: "btn btn-quiet",
          onClick: () => {
            this.addTagRow("", "");
            this.validate();
          },
        },
        "Add tag",
      ),
      this.problem,
      h("div", { className: "detail-actions" }, this.submit),
    );
    this.validate();
    return this.root;
  }

  addTagRow(key, value) {
    const row = h(
      "div",
      { className: "tag-row" },
      h("input", {
        type: "text",
        className: "tag-key",
        value: key,
        placeholder: "name",
        "aria-label": "Tag name",
        onInput: () => this.validate(),
      }),
      h("input", {
        type: "text",
        className: "tag-value",
        value,
        placeholder: "value",
        "aria-label": "Tag value",
        onInput: () => this.validate(),
      }),
      h(
        "button",
        {
          type: "button",
          className: "btn btn-icon btn-quiet",
          "aria-label": "Remove tag",
          title: "Remove tag",
          onClick: () => {
            row.remove();
            this.validate();
          },
        },
        "×",
      ),
    );
    this.tagRows.append(row);
  }

  rows() {
    return [...this.tagRows.querySelectorAll(".tag-row")].map((row) => [
      row.querySelector(".tag-key").value,
      row.querySelector(".tag-value").value,
    ]);
  }

  /** What would be sent: undefined when nothing changed (a plain retry). */
  edits() {
    const kwargs = parseKwargs(this.kwargs.value);
    const tags = parseTags(this.rows());
    const error = kwargs.error ?? tags.error;
    if (error) return { error };
    const edits = {};
    if (!this.kwargs.disabled && !sameJson(kwargs.value, this.originalKwargs)) {
      edits.kwargs = kwargs.value;
    }
    if (!sameJson(tags.value, this.originalTags)) edits.tags = tags.value;
    return { edits: Object.keys(edits).length > 0 ? edits : undefined };
  }

  validate() {
    const kwargs = parseKwargs(this.kwargs.value);
    this.kwargs.classList.toggle("is-invalid", Boolean(kwargs.error));
    this.kwargs.setAttribute("aria-invalid", String(Boolean(kwargs.error)));
    this.kwargsHint.textContent = kwargs.error ?? "Valid JSON object.";
    this.kwargsHint.classList.toggle("is-error", Boolean(kwargs.error));
    const { error, edits } = this.edits();
    this.valid = !error;
    this.problem.hidden = !error || Boolean(kwargs.error);
    this.problem.textContent = error ?? "";
    this.submit.disabled = Boolean(this.busy) || !this.valid;
    this.submit.textContent = edits ? "Replay with changes" : "Replay unchanged";
  }

  send() {
    const { error, edits } = this.edits();
    if (error) return;
    this.onSubmit(edits);
  }
}
