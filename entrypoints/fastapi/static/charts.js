// Charts the server renders as SVG: fetched through the API, parsed as XML (never as HTML)
// and imported into the page, where the stylesheet colours them for the theme.

import { ApiError } from "./api.js";
import { h } from "./dom.js";

// What the server's charts are made of; anything else is dropped before the chart is shown.
const ELEMENTS = new Set(["svg", "g", "title", "desc", "rect", "line", "path", "text", "tspan"]);

/** An answer that was not a chart. */
export class ChartError extends Error {
  constructor() {
    super("not an SVG chart");
    this.name = "ChartError";
  }
}

/** Strips what could run code or break the page's style policy: handlers, links, styles. */
function clean(element) {
  for (const child of [...element.children]) {
    // SVG elements only: a parsed document shares this page's element classes.
    if (child instanceof SVGElement && ELEMENTS.has(child.localName)) clean(child);
    else child.remove();
  }
  for (const attribute of [...element.attributes]) {
    const name = attribute.name.toLowerCase();
    if (name.startsWith("on") || name === "style" || name.endsWith("href")) {
      element.removeAttribute(attribute.name);
    }
  }
}

/** The `<svg>` element of a chart's text, imported into this document. */
export function parseChart(text) {
  const parsed = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = parsed.documentElement;
  if (
    !(root instanceof SVGSVGElement) ||
    parsed.getElementsByTagName("parsererror").length > 0
  ) {
    throw new ChartError();
  }
  clean(root);
  return document.importNode(root, true);
}

function failure(error, what) {
  if (error instanceof ApiError) return `${what} could not be loaded: ${error.detail}`;
  if (error instanceof ChartError) return `${what} could not be shown: the answer was not a chart.`;
  return `${what} could not be loaded: the server did not answer.`;
}

/**
 * A place for one chart. The chart on screen stays there while the next one loads; requests
 * run one at a time, and an answer for a chart that was replaced meanwhile is dropped.
 */
export class ChartSlot {
  /**
   * @param {HTMLElement} element Where the chart goes (emptied).
   * @param {{what: string, emptyText: string}} texts What the chart is, for messages ("Activity
   *   chart"), and what to say when it has no bars.
   */
  constructor(element, { what, emptyText }) {
    this.element = element;
    this.what = what;
    this.emptyText = emptyText;
    this.frame = h("div", { className: "chart-frame" });
    this.note = h("p", { className: "chart-note" }, "Loading…");
    element.replaceChildren(this.frame, this.note);
    this.shownKey = null;
    this.wanted = null;
    this.running = null;
  }

  /** Whether a chart was ever shown. */
  get loaded() {
    return this.shownKey !== null;
  }

  /**
   * Loads the chart `key` names (a string) with `request`, which resolves to the SVG text.
   * @returns {Promise<void>} Settles once no request is left to run.
   */
  load(key, request) {
    this.wanted = { key, request };
    if (this.running === null) {
      this.running = this.run().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  /** Takes the chart off the screen, e.g. before one of something else loads. */
  clear() {
    this.frame.replaceChildren();
    this.shownKey = null;
    this.showNote("Loading…", false);
  }

  async run() {
    this.element.setAttribute("aria-busy", "true");
    while (this.wanted !== null) {
      const { key, request } = this.wanted;
      this.wanted = null;
      let chart;
      try {
        chart = parseChart(await request());
      } catch (error) {
        if (this.wanted === null) this.showNote(failure(error, this.what), true);
        continue;
      }
      // Another chart was asked for meanwhile: this one is out of date before it shows.
      if (this.wanted !== null && this.wanted.key !== key) continue;
      this.frame.replaceChildren(chart);
      this.shownKey = key;
      const empty = chart.querySelector(".chart-bar") === null;
      this.showNote(empty ? this.emptyText : "", false);
    }
    this.element.removeAttribute("aria-busy");
  }

  showNote(text, isError) {
    this.note.textContent = text;
    this.note.hidden = text === "";
    this.note.classList.toggle("is-error", isError);
    if (isError) this.note.setAttribute("role", "alert");
    else this.note.removeAttribute("role");
  }
}
