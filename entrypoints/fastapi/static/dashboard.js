// The dashboard controller: filters, periodic refresh, pause, paging and the detail panel.

import { Api, ApiError } from "./api.js";
import { formatCount } from "./format.js";
import { h, replaceChildren } from "./dom.js";
import { renderMetrics } from "./metrics.js";
import { DetailPanel } from "./task_detail.js";
import { markSelected, renderTasks } from "./task_table.js";
import { updateElapsed } from "./widgets.js";

const PAGE_SIZE = 50;
// The API refuses larger pages.
const MAX_LIMIT = 1000;
const UNIT_MS = { h: 3_600_000, d: 86_400_000 };

const config = {
  apiBase: document.body.dataset.apiBase,
  refreshMs: Number(document.body.dataset.refreshInterval) || 2000,
  // Seconds between reads of shared storage; kept for cross-instance views.
  pollInterval: Number(document.body.dataset.pollInterval) || null,
};

const api = new Api(config.apiBase);

const ui = {
  connection: document.getElementById("connection"),
  liveToggle: document.getElementById("live-toggle"),
  liveLabel: document.getElementById("live-label"),
  cards: document.querySelector(".cards"),
  metricsScope: document.getElementById("metrics-scope"),
  pausedNote: document.getElementById("paused-note"),
  filters: document.getElementById("filters"),
  status: document.getElementById("filter-status"),
  func: document.getElementById("filter-function"),
  range: document.getElementById("filter-range"),
  search: document.getElementById("filter-search"),
  listError: document.getElementById("list-error"),
  rows: document.getElementById("task-rows"),
  summary: document.getElementById("list-summary"),
  loadMore: document.getElementById("load-more"),
  detail: document.getElementById("detail"),
};

const state = {
  live: true,
  tasks: [],
  nextCursor: null,
  loaded: false,
  metrics: null,
  functionNames: "",
  // Bumped whenever the server-side filters change, so answers to older queries are dropped.
  generation: 0,
  // While paused: where counting new tasks starts, and the tasks already on screen.
  pausedAfter: null,
  pausedKnown: new Set(),
  newSincePause: 0,
  newSincePauseCapped: false,
};

// -- queries -------------------------------------------------------------------------------

function createdAfter() {
  const match = /^(\d+)([hd])$/.exec(ui.range.value);
  if (!match) return null;
  return new Date(Date.now() - Number(match[1]) * UNIT_MS[match[2]]).toISOString();
}

function listParams({ limit, cursor = null, after = createdAfter() }) {
  const params = new URLSearchParams();
  if (ui.status.value) params.append("status", ui.status.value);
  if (ui.func.value) params.set("func_name", ui.func.value);
  if (after) params.set("created_after", after);
  params.set("limit", String(limit));
  if (cursor) params.set("cursor", cursor);
  return params;
}

// List requests run one at a time: a refresh and a "load more" must not overwrite each other.
let listQueue = Promise.resolve();
function serially(job) {
  const run = listQueue.then(job, job);
  listQueue = run.catch(() => {});
  return run;
}

/** Reloads the rows on screen (at least one page, and as many as "load more" has added). */
function reloadList() {
  return serially(async () => {
    const generation = state.generation;
    const limit = Math.min(MAX_LIMIT, Math.max(PAGE_SIZE, state.tasks.length));
    const page = await api.listTasks(listParams({ limit }));
    if (generation !== state.generation) return;
    state.tasks = page.tasks;
    state.nextCursor = page.nextCursor;
    state.loaded = true;
    showListError(null);
    renderList();
    syncDetail();
  });
}

function loadMore() {
  if (!state.nextCursor) return Promise.resolve();
  ui.loadMore.disabled = true;
  ui.loadMore.textContent = "Loading…";
  return serially(async () => {
    const generation = state.generation;
    if (!state.nextCursor) return;
    const page = await api.listTasks(listParams({ limit: PAGE_SIZE, cursor: state.nextCursor }));
    if (generation !== state.generation) return;
    const known = new Set(state.tasks.map((task) => task.task_id));
    state.tasks = state.tasks.concat(page.tasks.filter((task) => !known.has(task.task_id)));
    state.nextCursor = page.nextCursor;
    if (!state.live) rememberPausePoint();
    renderList();
  })
    .catch((error) => showListError(error))
    .finally(() => {
      ui.loadMore.disabled = false;
      ui.loadMore.textContent = "Load more";
    });
}

async function reloadMetrics() {
  state.metrics = await api.metrics();
  renderOverview();
  syncFunctionOptions();
}

// -- pause ---------------------------------------------------------------------------------

function newestCreatedAt(tasks) {
  let newest = null;
  for (const task of tasks) {
    if (newest === null || Date.parse(task.created_at) > Date.parse(newest)) {
      newest = task.created_at;
    }
  }
  return newest;
}

function rememberPausePoint() {
  state.pausedAfter = newestCreatedAt(state.tasks) ?? new Date().toISOString();
  state.pausedKnown = new Set(state.tasks.map((task) => task.task_id));
}

/** Counts tasks created (and matching the filters) since the newest one on screen. */
async function countNewTasks() {
  const generation = state.generation;
  const range = createdAfter();
  const after =
    range !== null && Date.parse(range) > Date.parse(state.pausedAfter) ? range : state.pausedAfter;
  const page = await api.listTasks(listParams({ limit: MAX_LIMIT, after }));
  if (generation !== state.generation || state.live) return;
  // created_after is inclusive: tasks sharing the newest timestamp come back too.
  state.newSincePause = page.tasks.filter((task) => !state.pausedKnown.has(task.task_id)).length;
  state.newSincePauseCapped = page.nextCursor !== null;
  renderLiveState();
}

function setLive(live) {
  state.live = live;
  state.newSincePause = 0;
  state.newSincePauseCapped = false;
  if (!live) rememberPausePoint();
  renderLiveState();
  if (live) poke();
}

// -- detail panel --------------------------------------------------------------------------

const panel = new DetailPanel(ui.detail, {
  api,
  onChange: (task) => {
    const index = state.tasks.findIndex((item) => item.task_id === task.task_id);
    if (index >= 0) state.tasks[index] = task;
    renderList();
    poke();
  },
  onClose: (taskId) => {
    setHashTask(null);
    markSelected(ui.rows, null);
    const row = [...ui.rows.rows].find((tr) => tr.dataset.taskId === taskId);
    row?.focus({ preventScroll: true });
  },
});

async function openTask(taskId) {
  const listed = state.tasks.find((task) => task.task_id === taskId);
  setHashTask(taskId);
  if (listed) {
    panel.open(listed);
    markSelected(ui.rows, taskId);
    return;
  }
  try {
    panel.open(await api.task(taskId));
    markSelected(ui.rows, taskId);
  } catch (error) {
    setHashTask(null);
    showListError(error, `Task ${taskId}`);
  }
}

/** Gives the open panel the fresh copy of its task (fetched if it is not in the list). */
async function syncDetail() {
  const taskId = panel.taskId;
  if (taskId === null) return;
  const listed = state.tasks.find((task) => task.task_id === taskId);
  if (listed) {
    panel.update(listed);
  } else if (panel.task && ["pending", "running"].includes(panel.task.status)) {
    try {
      panel.update(await api.task(taskId));
    } catch {
      // The connection indicator reports failures; the panel keeps its last copy.
    }
  }
}

function setHashTask(taskId) {
  const url = new URL(window.location.href);
  url.hash = taskId ? `task=${encodeURIComponent(taskId)}` : "";
  window.history.replaceState(null, "", url.hash ? url : url.pathname + url.search);
}

function hashTask() {
  const match = /^#task=(.+)$/.exec(window.location.hash);
  return match ? decodeURIComponent(match[1]) : null;
}

// -- rendering -----------------------------------------------------------------------------

function renderOverview() {
  const name = ui.func.value;
  const scoped = name && state.metrics?.by_function?.[name];
  renderMetrics(ui.cards, scoped || state.metrics, ui.status.value);
  ui.metricsScope.textContent = name
    ? scoped
      ? `for ${name}`
      : `no stored tasks of ${name}; showing all functions`
    : "all functions";
}

function renderList() {
  const filtered = ui.status.value || ui.func.value || createdAfter() !== null;
  const query = ui.search.value.trim();
  const shown = renderTasks(ui.rows, state.tasks, {
    query,
    selectedId: panel.taskId,
    onSelect: openTask,
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

function syncFunctionOptions() {
  const names = Object.keys(state.metrics?.by_function ?? {}).sort();
  const selected = ui.func.value;
  if (selected && !names.includes(selected)) names.push(selected);
  const signature = names.join("\n");
  if (signature === state.functionNames) return;
  state.functionNames = signature;
  replaceChildren(
    ui.func,
    h("option", { value: "" }, "All functions"),
    names.map((name) => h("option", { value: name }, name)),
  );
  ui.func.value = selected;
}

function renderLiveState() {
  ui.liveToggle.setAttribute("aria-pressed", String(state.live));
  ui.liveToggle.classList.toggle("is-paused", !state.live);
  ui.liveLabel.textContent = state.live ? "Live" : "Paused";
  ui.pausedNote.hidden = state.live;
  if (!state.live) {
    const count = state.newSincePause;
    const text =
      count === 0
        ? "Paused: no new tasks since then"
        : `Paused: ${formatCount(count)}${state.newSincePauseCapped ? "+" : ""} new ` +
          `task${count === 1 ? "" : "s"} since then; resume to show them`;
    ui.pausedNote.textContent = text;
    ui.liveLabel.textContent = count > 0 ? `Paused · ${formatCount(count)} new` : "Paused";
  }
}

function setConnection(error) {
  ui.connection.classList.toggle("is-error", error !== null);
  if (error === null) {
    const time = new Date().toLocaleTimeString(undefined, { hourCycle: "h23" });
    ui.connection.textContent = `Updated ${time}`;
  } else if (error instanceof ApiError) {
    ui.connection.textContent = `Server error ${error.status}; retrying`;
  } else {
    ui.connection.textContent = "Server unreachable; retrying";
  }
}

function showListError(error, what = "Tasks") {
  if (error === null) {
    ui.listError.hidden = true;
    return;
  }
  ui.listError.textContent =
    error instanceof ApiError
      ? `${what}: ${error.detail}`
      : `${what}: the server did not answer.`;
  ui.listError.hidden = false;
}

// -- refresh loop --------------------------------------------------------------------------

let timer = null;
let running = false;
let again = false;

async function tick() {
  clearTimeout(timer);
  running = true;
  try {
    if (!document.hidden) {
      if (state.live) await Promise.all([reloadList(), reloadMetrics()]);
      else await countNewTasks();
      setConnection(null);
    }
  } catch (error) {
    setConnection(error);
    if (error instanceof ApiError && error.status < 500) showListError(error);
  } finally {
    running = false;
    if (again) {
      again = false;
      tick();
    } else {
      timer = setTimeout(tick, config.refreshMs);
    }
  }
}

/** Refreshes as soon as possible (after the refresh in progress, if any). */
function poke() {
  if (running) again = true;
  else tick();
}

/** The server-side filters changed: start over from the first page. */
function filtersChanged() {
  state.generation += 1;
  state.tasks = [];
  state.nextCursor = null;
  state.loaded = false;
  renderList();
  renderOverview();
  if (state.live) {
    poke();
    return;
  }
  // Paused, but the reader asked for other rows: load them once and count from there.
  reloadList()
    .then(() => {
      rememberPausePoint();
      state.newSincePause = 0;
      renderLiveState();
    })
    .catch((error) => showListError(error));
}

// -- wiring --------------------------------------------------------------------------------

for (const control of [ui.status, ui.func, ui.range]) {
  control.addEventListener("change", filtersChanged);
}
ui.search.addEventListener("input", renderList);
ui.filters.addEventListener("submit", (event) => event.preventDefault());
ui.filters.addEventListener("reset", () => {
  // The form resets its controls after this event; react once they hold their defaults.
  window.setTimeout(filtersChanged);
});
ui.loadMore.addEventListener("click", loadMore);
ui.liveToggle.addEventListener("click", () => setLive(!state.live));
ui.cards.addEventListener("click", (event) => {
  const card = event.target.closest("[data-filter-status]");
  if (!card) return;
  const status = card.dataset.filterStatus;
  ui.status.value = ui.status.value === status ? "" : status;
  filtersChanged();
});
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) poke();
});
// Running times move on between refreshes.
window.setInterval(() => updateElapsed(document), 1000);

renderLiveState();
tick();
const initialTask = hashTask();
if (initialTask) openTask(initialTask);
