// The View tab's activity chart: tasks finished per interval (succeeded, failed, other), for
// the window chosen above it and the function the filter names, in the viewer's time zone.

import { ApiError } from "./api.js";
import { ChartSlot } from "./charts.js";

const el = (id) => document.getElementById(id);

/** The viewer's IANA time zone; the server labels the chart's times in it. */
function viewerZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

export class ActivityChart {
  /** @param {{api: import("./api.js").Api}} deps */
  constructor({ api }) {
    this.api = api;
    this.buttons = [...el("activity-windows").querySelectorAll("[data-since]")];
    this.scope = el("activity-scope");
    this.slot = new ChartSlot(el("activity-chart"), {
      what: "The activity chart",
      emptyText: "No task finished in this window.",
    });
    const chosen = this.buttons.find((button) => button.getAttribute("aria-pressed") === "true");
    this.window = chosen ?? this.buttons[0];
    this.funcName = "";
    this.zone = viewerZone();
    for (const button of this.buttons) {
      button.addEventListener("click", () => this.choose(button));
    }
  }

  get loaded() {
    return this.slot.loaded;
  }

  choose(button) {
    this.window = button;
    for (const other of this.buttons) {
      other.setAttribute("aria-pressed", String(other === button));
    }
    this.refresh();
  }

  /** Follows the Function filter ("" for every function). */
  setFunction(name) {
    if (name === this.funcName) return;
    this.funcName = name;
    this.refresh();
  }

  /** Reads the chart again; the one on screen stays until the new one arrives. */
  refresh() {
    const since = this.window.dataset.since;
    const buckets = Number(this.window.dataset.buckets);
    const funcName = this.funcName;
    const zone = this.zone;
    const key = JSON.stringify([since, buckets, funcName, zone]);
    const request = async () => {
      try {
        return await this.api.activityChart({ since, buckets, funcName, timeZone: zone });
      } catch (error) {
        // A zone the server's database lacks: show UTC times rather than no chart at all.
        if (!(error instanceof ApiError && error.status === 400 && this.zone !== "UTC")) {
          throw error;
        }
        this.zone = "UTC";
        return this.api.activityChart({ since, buckets, funcName, timeZone: "UTC" });
      }
    };
    return this.slot.load(key, request).then(() => this.renderScope(key));
  }

  renderScope(key) {
    if (this.slot.shownKey !== key) return;
    const who = this.funcName || "all functions";
    const zone = this.zone === viewerZone() ? "" : ` · times in ${this.zone}`;
    this.scope.textContent = `${who} · ${this.window.dataset.scope.toLowerCase()}${zone}`;
  }
}
