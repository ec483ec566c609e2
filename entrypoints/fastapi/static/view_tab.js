// The View tab: overview cards, filters, the task table with paging, and pause/resume of
// live updates (counting what arrived meanwhile).

import { formatCount } from "./format.js";
import { h } from "./dom.js";
import { matchesFilters, mergeChanges } from "./live_merge.js";
import { renderMetrics } from "./metrics.js";
import { renderTasks } from "./task_table.js";
import { errorText, syncOptions } from "./widgets.js";

const PAGE_SIZE = 50;
// The API refuses larger pages.
const MAX_LIMIT = 1000;
const UNIT_MS = { h: 3_600_000, d: 86_400_000 };

const el = (id) => document.getElementById(id);

export class TaskView {
  /**
   * @param {{api: import("./api.js").Api, onSelect: (taskId: string) => void,
   *          selectedId: () => string|null, onRows: (tasks: object[]) => void,
   *          onLiveChange: (live: boolean) => void,
   *          onFunctionChange: (funcName: string) => void}} hooks `onFunctionChange` runs
   *   when the Function filter changed ("" for every function).
   */
  constructor({ api, onSelect, selectedId, onRows, onLiveChange, onFunctionChange }) {
    this.api = api;
    this.hooks = { onSelect, selectedId, onRows, onLiveChange, onFunctionChange };
    this.ui = {
      liveToggle: el("live-toggle"),
      liveLabel: el("live-label"),
      cards: document.querySelector(".cards"),
      metricsScope: el("metrics-scope"),
      pausedNote: el("paused-note"),
      filters: el("filters"),
      status: el("filter-status"),
      func: el("filter-function"),
      queue: el("filter-queue"),
      range: el("filter-range"),
      method: el("filter-method"),
      route: el("filter-route"),
      requestId: el("filter-request-id"),
      principal: el("filter-principal"),
      search: el("filter-search"),
      listError: el("list-error"),
      rows: el("task-rows"),
      summary: el("list-summary"),
      loadMore: el("load-more"),
    };
    this.state = {
      live: true,
      tasks: [],
      nextCursor: null,
      loaded: false,
      metrics: null,
      functionNames: "",
      queueNames: "",
      queues: new Set(["default"]),
      // Bumped whenever the server-side filters change, so answers to older queries are dropped.
      generation: 0,
      // While paused: where counting new tasks starts, the tasks on screen, and what arrived.
      pausedAfter: null,
      pausedKnown: new Set(),
      newIds: new Set(),
      changedIds: new Set(),
      newCapped: false,
    };
    // List requests run one at a time: a refresh and a "load more" must not overwrite each
    // other.
    this.listQueue = Promise.resolve();
    this.wire();
    this.renderLiveState();
  }

  wire() {
    const ui = this.ui;
    for (const control of [ui.status, ui.func, ui.queue, ui.range, ui.method]) {
      control.addEventListener("change", () => this.filtersChanged());
    }
    // Text filters apply on Enter or when the field is left, not on every key.
    for (const control of [ui.route, ui.requestId, ui.principal]) {
      control.addEventListener("change", () => this.filtersChanged());
    }
    ui.search.addEventListener("input", () => this.renderList());
    ui.filters.addEventListener("submit", (event) => event.preventDefault());
    ui.filters.addEventListener("reset", () => {
      // The form resets its controls after this event; react once they hold their defaults.
      window.setTimeout(() => this.filtersChanged());
    });
    ui.loadMore.addEventListener("click", () => this.loadMore());
    ui.liveToggle.addEventListener("click", () => this.setLive(!this.state.live));
    ui.cards.addEventListener("click", (event) => {
      const card = event.target.closest("[data-filter-status]");
      if (!card) return;
      const status = card.dataset.filterStatus;
      ui.status.value = ui.status.value === status ? "" : status;
      this.filtersChanged();
    });
  }

  get live() {
    return this.state.live;
  }

  get tasks() {
    return this.state.tasks;
  }

  // -- queries -----------------------------------------------------------------------------

  createdAfter() {
    const match = /^(\d+)([hd])$/.exec(this.ui.range.value);
    if (!match) return null;
    return new Date(Date.now() - Number(match[1]) * UNIT_MS[match[2]]).toISOString();
  }

  filters() {
    const after = this.createdAfter();
    return {
      statuses: this.ui.status.value ? [this.ui.status.value] : [],
      funcName: this.ui.func.value,
      queue: this.ui.queue.value,
      createdAfter: after === null ? null : Date.parse(after),
      origin: this.origin(),
    };
  }

  /** The provenance filters as the API names them (empty values left out). */
  origin() {
    const ui = this.ui;
    const values = {
      route: ui.route.value.trim(),
      method: ui.method.value,
      request_id: ui.requestId.value.trim(),
      principal: ui.principal.value.trim(),
    };
    return Object.fromEntries(Object.entries(values).filter(([, value]) => value));
  }

  listParams({ limit, cursor = null, after = this.createdAfter() }) {
    const ui = this.ui;
    const params = new URLSearchParams();
    if (ui.status.value) params.append("status", ui.status.value);
    if (ui.func.value) params.set("func_name", ui.func.value);
    if (ui.queue.value) params.set("queue", ui.queue.value);
    for (const [name, value] of Object.entries(this.origin())) params.set(name, value);
    if (after) params.set("created_after", after);
    params.set("limit", String(limit));
    if (cursor) params.set("cursor", cursor);
    return params;
  }

  serially(job) {
    const run = this.listQueue.then(job, job);
    this.listQueue = run.catch(() => {});
    return run;
  }

  /** Reloads the rows on screen (at least one page, and as many as "load more" added). */
  reload() {
    return this.serially(async () => {
      const state = this.state;
      const generation = state.generation;
      const limit = Math.min(MAX_LIMIT, Math.max(PAGE_SIZE, state.tasks.length));
      const page = await this.api.listTasks(this.listParams({ limit }));
      if (generation !== state.generation) return;
      state.tasks = page.tasks;
      state.nextCursor = page.nextCursor;
      state.loaded = true;
      this.showError(null);
      this.changed();
    });
  }

  loadMore() {
    const state = this.state;
    if (!state.nextCursor) return Promise.resolve();
    const button = this.ui.loadMore;
    button.disabled = true;
    button.textContent = "Loading…";
    return this.serially(async () => {
      const generation = state.generation;
      if (!state.nextCursor) return;
      const params = this.listParams({ limit: PAGE_SIZE, cursor: state.nextCursor });
      const page = await this.api.listTasks(params);
      if (generation !== state.generation) return;
      const known = new Set(state.tasks.map((task) => task.task_id));
      state.tasks = state.tasks.concat(page.tasks.filter((task) => !known.has(task.task_id)));
      state.nextCursor = page.nextCursor;
      if (!state.live) this.rememberPausePoint();
      this.changed();
    })
      .catch((error) => this.showError(error))
      .finally(() => {
        button.disabled = false;
        button.textContent = "Load more";
      });
  }

  /** The server-side filters changed: start over from the first page. */
  filtersChanged() {
    const state = this.state;
    state.generation += 1;
    state.tasks = [];
    state.nextCursor = null;
    state.loaded = false;
    this.renderList();
    this.renderOverview();
    this.hooks.onFunctionChange(this.ui.func.value);
    const reloaded = this.reload();
    if (!state.live) {
      // Paused, but the reader asked for other rows: load them once and count from there.
      reloaded.then(() => {
        this.rememberPausePoint();
        this.renderLiveState();
      });
    }
    reloaded.catch((error) => this.showError(error));
  }

  // -- live changes ------------------------------------------------------------------------

  /** A batch of changed tasks from the stream. */
  applyChanges(records) {
    const state = this.state;
    for (const record of records) if (record.queue) this.noteQueue(record.queue);
    if (!state.loaded) return;
    if (!state.live) {
      const filters = this.filters();
      for (const record of records) {
        if (state.pausedKnown.has(record.task_id)) state.changedIds.add(record.task_id);
        else if (record.created_at && matchesFilters(record, filters)) {
          state.newIds.add(record.task_id);
        }
      }
      this.renderLiveState();
      return;
    }
    const merged = mergeChanges(state.tasks, records, this.filters(), {
      hasMore: state.nextCursor !== null,
    });
    if (merged.tasks === state.tasks) return;
    state.tasks = merged.tasks;
    if (state.tasks.length > MAX_LIMIT) {
      // Far more rows than a page: let the server cut the list (and its cursor) again.
      this.reload().catch((error) => this.showError(error));
      return;
    }
    this.changed();
  }

  /** Polled or told to re-query: reload when live, else count what is new. */
  refresh() {
    if (this.state.live) return this.reload();
    return this.countNewTasks();
  }

  // -- pause -------------------------------------------------------------------------------

  rememberPausePoint() {
    const state = this.state;
    let newest = null;
    for (const task of state.tasks) {
      if (newest === null || Date.parse(task.created_at) > Date.parse(newest)) {
        newest = task.created_at;
      }
    }
    state.pausedAfter = newest ?? new Date().toISOString();
    state.pausedKnown = new Set(state.tasks.map((task) => task.task_id));
    state.newIds = new Set();
    state.changedIds = new Set();
    state.newCapped = false;
  }

  /** Counts tasks created (and matching the filters) since the newest one on screen. */
  async countNewTasks() {
    const state = this.state;
    const generation = state.generation;
    const range = this.createdAfter();
    const after =
      range !== null && Date.parse(range) > Date.parse(state.pausedAfter)
        ? range
        : state.pausedAfter;
    const page = await this.api.listTasks(this.listParams({ limit: MAX_LIMIT, after }));
    if (generation !== state.generation || state.live) return;
    // created_after is inclusive: tasks sharing the newest timestamp come back too.
    for (const task of page.tasks) {
      if (!state.pausedKnown.has(task.task_id)) state.newIds.add(task.task_id);
    }
    state.newCapped = page.nextCursor !== null;
    this.renderLiveState();
  }

  setLive(live) {
    this.state.live = live;
    if (!live) this.rememberPausePoint();
    this.renderLiveState();
    this.hooks.onLiveChange(live);
    if (live) this.reload().catch((error) => this.showError(error));
  }

  // -- rendering ---------------------------------------------------------------------------

  changed() {
    for (const task of this.state.tasks) if (task.queue) this.noteQueue(task.queue);
    this.syncQueueOptions();
    this.renderList();
    this.hooks.onRows(this.state.tasks);
  }

  setMetrics(metrics) {
    this.state.metrics = metrics;
    this.renderOverview();
    this.syncFunctionOptions();
  }

  renderOverview() {
    const ui = this.ui;
    const name = ui.func.value;
    const metrics = this.state.metrics;
    const scoped = name && metrics?.by_function?.[name];
    renderMetrics(ui.cards, scoped || metrics, ui.status.value);
    ui.metricsScope.textContent = name
      ? scoped
        ? `for ${name}`
        : `no stored tasks of ${name}; showing all functions`
      : "all functions";
  }

  renderList() {
    const ui = this.ui;
    const state = this.state;
    const filtered =
      ui.status.value ||
      ui.func.value ||
      ui.queue.value ||
      Object.keys(this.origin()).length > 0 ||
      this.createdAfter() !== null;
    const query = ui.search.value.trim();
    const shown = renderTasks(ui.rows, state.tasks, {
      query,
      selectedId: this.hooks.selectedId(),
      onSelect: this.hooks.onSelect,
      emptyText: !state.loaded
        ? "Loading tasks…"
        : filtered
          ? "No tasks match these filters."
          : "No tasks yet. They appear here as soon as they are enqueued.",
    });
    const loaded = formatCount(state.tasks.length);
    const more = state.nextCursor ? ", more available" : "";
    ui.summary.textContent = query
      ? `${formatCount(shown)} of ${loaded} loaded tasks match the search${more}`
      : `${loaded} task${state.tasks.length === 1 ? "" : "s"} loaded${more}`;
    ui.loadMore.hidden = !state.nextCursor;
  }

  /** Shows `name` in the function filter (e.g. chosen from the Tasks tab). */
  showFunction(name) {
    this.ensureOption(this.ui.func, name);
    this.ui.func.value = name;
    this.filtersChanged();
  }

  /**
   * Lists only the tasks of one request (or of one route, or one user): `origin` names the
   * provenance values to keep, e.g. `{request_id: "abc"}`. The other filters are cleared, so
   * every task of that request shows.
   */
  showOrigin(origin) {
    const ui = this.ui;
    for (const select of [ui.status, ui.func, ui.queue]) select.value = "";
    ui.range.value = ui.range.options[0]?.value ?? "";
    ui.search.value = "";
    this.ensureOption(ui.method, origin.method ?? "");
    ui.method.value = origin.method ?? "";
    ui.route.value = origin.route ?? "";
    ui.requestId.value = origin.request_id ?? "";
    ui.principal.value = origin.principal ?? "";
    this.filtersChanged();
  }

  ensureOption(select, value) {
    if (value && ![...select.options].some((option) => option.value === value)) {
      select.append(h("option", { value }, value));
    }
  }

  syncFunctionOptions() {
    const names = Object.keys(this.state.metrics?.by_function ?? {}).sort();
    const signature = syncOptions(this.ui.func, names, "All functions", this.state.functionNames);
    this.state.functionNames = signature;
  }

  noteQueue(name) {
    this.state.queues.add(name);
  }

  syncQueueOptions() {
    const names = [...this.state.queues].sort();
    this.state.queueNames = syncOptions(this.ui.queue, names, "All queues", this.state.queueNames);
  }

  renderLiveState() {
    const ui = this.ui;
    const state = this.state;
    ui.liveToggle.setAttribute("aria-pressed", String(state.live));
    ui.liveToggle.classList.toggle("is-paused", !state.live);
    ui.liveLabel.textContent = state.live ? "Live" : "Paused";
    ui.pausedNote.hidden = state.live;
    if (state.live) return;
    const fresh = state.newIds.size;
    const changed = state.changedIds.size;
    const plus = state.newCapped ? "+" : "";
    const parts = [];
    if (fresh > 0) parts.push(`${formatCount(fresh)}${plus} new task${fresh === 1 ? "" : "s"}`);
    if (changed > 0) parts.push(`${formatCount(changed)} changed`);
    ui.pausedNote.textContent =
      parts.length === 0
        ? "Paused: nothing new since then"
        : `Paused: ${parts.join(", ")} since then; resume to show them`;
    ui.liveLabel.textContent =
      fresh + changed > 0 ? `Paused · ${formatCount(fresh + changed)}${plus}` : "Paused";
  }

  showError(error) {
    const box = this.ui.listError;
    box.hidden = error === null;
    if (error !== null) box.textContent = errorText(error, "Tasks");
  }
}
