// The dashboard controller: tabs (kept in the URL hash), live updates, the detail panel and
// the signed-in session.

import { ActivityChart } from "./activity_chart.js";
import { Api, ApiError } from "./api.js";
import { AuditTab } from "./audit_tab.js";
import { DeadLettersTab } from "./dead_letters_tab.js";
import { DEAD_LETTER_STATUSES, formatDuration } from "./format.js";
import { FunctionsTab } from "./functions_tab.js";
import { LiveFeed } from "./live_feed.js";
import { QueuesTab } from "./queues_tab.js";
import { SchedulesTab } from "./schedules_tab.js";
import { DetailPanel } from "./task_detail.js";
import { markSelected } from "./task_table.js";
import { TaskView } from "./view_tab.js";
import { errorText, updateElapsed } from "./widgets.js";

const data = document.body.dataset;
const config = {
  apiBase: data.apiBase,
  metricsMs: Number(data.metricsInterval) || 3000,
  // Seconds between reads of the API besides the stream (other instances, fallback).
  pollMs: Math.max(1000, (Number(data.pollInterval) || 30) * 1000),
  user: data.user ?? "",
  csrfToken: data.csrfToken ?? "",
};
// Lists of other tabs follow the stream at most this often.
const TAB_REFRESH_MS = 2000;

// The login page takes a path to return to, not a fragment: the tab and task wait here.
const RETURN_KEY = "fastapi-taskflow:return-to";

let leaving = false;
/** The session is over: sign in again, then come back to this very view. */
function signInAgain() {
  if (leaving) return;
  leaving = true;
  try {
    window.sessionStorage.setItem(RETURN_KEY, window.location.hash);
  } catch {
    // Storage may be off; the dashboard then opens on its first tab.
  }
  window.location.assign(api.loginUrl(window.location.pathname + window.location.search));
}

function restoreReturnPoint() {
  try {
    const hash = window.sessionStorage.getItem(RETURN_KEY);
    window.sessionStorage.removeItem(RETURN_KEY);
    if (hash && !window.location.hash) window.history.replaceState(null, "", hash);
  } catch {
    // Nothing saved, or storage is off.
  }
}

const api = new Api(config.apiBase, { csrfToken: config.csrfToken, onUnauthorized: signInAgain });

const connection = document.getElementById("connection");
const detailElement = document.getElementById("detail");

/** Runs `job` at most once per `ms`, the last call of a burst included. */
function throttle(job, ms) {
  let timer = null;
  let last = 0;
  return () => {
    if (timer !== null) return;
    timer = window.setTimeout(
      async () => {
        timer = null;
        last = Date.now();
        try {
          await job();
        } catch {
          // Each job reports its own failures where they belong.
        }
      },
      Math.max(0, last + ms - Date.now()),
    );
  };
}

// -- tabs and location ---------------------------------------------------------------------

const TABS = ["view", "tasks", "queues", "schedules", "dead-letters"];
if (config.user) TABS.push("audit");
const tabLinks = [...document.querySelectorAll("[data-tab]")];

function readLocation() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const tab = params.get("tab");
  return { tab: TABS.includes(tab) ? tab : "view", task: params.get("task") || null };
}

function writeLocation(next, { push }) {
  const params = new URLSearchParams({ tab: next.tab });
  if (next.task) params.set("task", next.task);
  const url = `${window.location.pathname}${window.location.search}#${params}`;
  if (url === window.location.pathname + window.location.search + window.location.hash) return;
  if (push) window.history.pushState(null, "", url);
  else window.history.replaceState(null, "", url);
}

let activeTab = null;

function showTab(tab) {
  for (const link of tabLinks) {
    const selected = link.dataset.tab === tab;
    link.setAttribute("aria-selected", String(selected));
    link.classList.toggle("is-active", selected);
    link.tabIndex = selected ? 0 : -1;
    document.getElementById(link.getAttribute("aria-controls")).hidden = !selected;
  }
  if (tab === activeTab) return;
  const first = activeTab === null;
  activeTab = tab;
  document.body.dataset.tab = tab;
  // When the page opens on the View tab, the first metrics refresh loads its chart.
  if (!(first && tab === "view")) reloadTab(tab);
}

function reloadTab(tab) {
  if (tab === "view") return refreshActivity();
  if (tab === "tasks") return tabs.functions.load();
  if (tab === "queues") return tabs.queues.load();
  if (tab === "schedules") return tabs.schedules.load();
  if (tab === "dead-letters") return tabs.deadLetters.load();
  if (tab === "audit") return tabs.audit?.load();
  return null;
}

/** Applies the URL (after a reload, back/forward or an edited hash). */
function followLocation() {
  const { tab, task } = readLocation();
  showTab(tab);
  if (task && task !== panel.taskId) openTask(task, { write: false });
  if (!task && panel.isOpen) panel.close();
}

for (const link of tabLinks) {
  link.addEventListener("click", (event) => {
    event.preventDefault();
    writeLocation({ tab: link.dataset.tab, task: panel.taskId }, { push: true });
    showTab(link.dataset.tab);
  });
  link.addEventListener("keydown", (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    const visible = tabLinks.filter((item) => TABS.includes(item.dataset.tab));
    const next = visible[(visible.indexOf(link) + step + visible.length) % visible.length];
    next.focus();
    next.click();
  });
}
window.addEventListener("popstate", followLocation);
window.addEventListener("hashchange", followLocation);

// -- detail panel --------------------------------------------------------------------------

let metrics = null;

const panel = new DetailPanel(detailElement, {
  api,
  functionCounts: (name) => metrics?.by_function?.[name] ?? null,
  onChange: (task) => {
    view.applyChanges([task]);
    refreshMetrics();
  },
  onOpenTask: (taskId) => openTask(taskId),
  onShowOrigin: (origin) => {
    writeLocation({ tab: "view", task: panel.taskId }, { push: true });
    showTab("view");
    view.showOrigin(origin);
  },
  onClose: (taskId) => {
    writeLocation({ tab: activeTab, task: null }, { push: false });
    markSelected(document.getElementById("task-rows"), null);
    const row = document.querySelector(`#task-rows tr[data-task-id="${CSS.escape(taskId)}"]`);
    row?.focus({ preventScroll: true });
  },
});

let opening = 0;
async function openTask(taskId, { write = true } = {}) {
  const attempt = ++opening;
  if (write) writeLocation({ tab: activeTab, task: taskId }, { push: false });
  const listed = view.tasks.find((task) => task.task_id === taskId);
  // The row's copy shows at once; the full task (logs, error, arguments) follows.
  if (listed) panel.open({ ...listed, logs: undefined });
  markSelected(document.getElementById("task-rows"), taskId);
  try {
    const task = await api.task(taskId);
    if (attempt === opening) panel.open(task);
  } catch (error) {
    if (attempt !== opening) return;
    if (panel.taskId === taskId) panel.close();
    else writeLocation({ tab: activeTab, task: null }, { push: false });
    view.showError(error instanceof ApiError && error.status === 404 ? null : error);
    if (error instanceof ApiError && error.status === 404) {
      view.ui.listError.textContent = `Task ${taskId} no longer exists.`;
      view.ui.listError.hidden = false;
    }
  }
}

let detailFetch = null;
/** Fetches the open task again (one request at a time, the last change always read). */
function refreshDetail() {
  const taskId = panel.taskId;
  if (taskId === null) return;
  if (detailFetch !== null) {
    detailFetch.again = true;
    return;
  }
  detailFetch = { again: false };
  api
    .task(taskId)
    .then((task) => panel.update(task))
    .catch(() => {
      // The connection indicator reports failures; the panel keeps its last copy.
    })
    .finally(() => {
      const again = detailFetch.again;
      detailFetch = null;
      if (again) refreshDetail();
    });
}

const refreshRecent = throttle(() => panel.loadRecent(), TAB_REFRESH_MS);

// -- tabs ----------------------------------------------------------------------------------

const activity = new ActivityChart({ api });

/** The activity chart follows the metrics: on the View tab, while live (or until it loaded). */
function refreshActivity() {
  if (activeTab === "view" && (view.live || !activity.loaded)) activity.refresh();
}

const view = new TaskView({
  api,
  onSelect: (taskId) => openTask(taskId),
  selectedId: () => panel.taskId,
  onRows: () => {},
  onLiveChange: (live) => {
    if (live) {
      refreshMetrics();
      refreshDetail();
    }
  },
  // Chosen by the reader, so shown even while paused.
  onFunctionChange: (funcName) => activity.setFunction(funcName),
});

const tabs = {
  functions: new FunctionsTab({
    api,
    onShowRuns: (name) => {
      writeLocation({ tab: "view", task: panel.taskId }, { push: true });
      showTab("view");
      view.showFunction(name);
    },
  }),
  queues: new QueuesTab({ api }),
  schedules: new SchedulesTab({ api, onOpenTask: (taskId) => openTask(taskId) }),
  deadLetters: new DeadLettersTab({
    api,
    onOpenTask: (taskId) => openTask(taskId),
    onReplayed: () => refreshMetrics(),
  }),
  audit: config.user ? new AuditTab({ api, onOpenTask: (taskId) => openTask(taskId) }) : null,
};

const refreshActiveTab = throttle(() => reloadTab(activeTab), TAB_REFRESH_MS);
const deadLetterCount = document.getElementById("dead-letter-count");

// -- metrics -------------------------------------------------------------------------------

async function loadMetrics() {
  refreshActivity();
  try {
    metrics = await api.metrics();
  } catch (error) {
    setConnection(error);
    return;
  }
  view.setMetrics(metrics);
  tabs.functions.setMetrics(metrics);
  tabs.deadLetters.setFunctions(Object.keys(metrics.by_function ?? {}).sort());
  const dead = DEAD_LETTER_STATUSES.reduce((sum, status) => sum + (metrics[status] ?? 0), 0);
  deadLetterCount.textContent = String(dead);
  deadLetterCount.hidden = dead === 0;
  if (panel.isOpen) panel.render();
}

/** Reads the counts again, at most once per metrics interval. */
const refreshMetrics = throttle(loadMetrics, config.metricsMs);

// -- live updates --------------------------------------------------------------------------

let mode = "connecting";
let lastError = null;

function setConnection(error) {
  lastError = error;
  connection.classList.toggle("is-error", error !== null);
  if (error !== null) {
    connection.textContent =
      error instanceof ApiError
        ? `Server error ${error.status}; retrying`
        : "Server unreachable; retrying";
    connection.title = errorText(error, "Last request");
    return;
  }
  const time = new Date().toLocaleTimeString(undefined, { hourCycle: "h23" });
  const every = formatDuration(config.pollMs / 1000);
  const how =
    mode === "stream" ? "Live" : mode === "polling" ? `Polling every ${every}` : "Reconnecting";
  connection.textContent = `${how} · ${time}`;
  connection.title =
    mode === "stream"
      ? "Changes arrive as they happen"
      : `The live stream is unavailable; the page reads the server every ${every}`;
  connection.dataset.mode = mode;
}

async function resync() {
  try {
    await view.refresh();
    setConnection(null);
  } catch (error) {
    setConnection(error);
    view.showError(error instanceof ApiError && error.status < 500 ? error : null);
  }
  refreshMetrics();
  if (view.live) refreshDetail();
  if (activeTab !== "view") refreshActiveTab();
}

function onTasks(records) {
  view.applyChanges(records);
  refreshMetrics();
  if (lastError !== null || mode === "stream") setConnection(null);
  if (!view.live) return;
  const open = panel.taskId;
  if (open !== null) {
    if (records.some((record) => record.task_id === open)) refreshDetail();
    if (records.some((record) => record.func_name === panel.task.func_name)) refreshRecent();
  }
  const listTabs = ["dead-letters", "schedules", "audit", "queues"];
  if (listTabs.includes(activeTab)) {
    refreshActiveTab();
  }
}

const feed = new LiveFeed({
  url: api.streamUrl(),
  pollMs: config.pollMs,
  onTasks,
  onResync: resync,
  onPoll: resync,
  onMode: (next) => {
    mode = next;
    document.body.dataset.live = next;
    if (lastError === null) setConnection(null);
  },
});

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) resync();
});
// Running times and countdowns move on between updates.
window.setInterval(() => updateElapsed(document), 1000);

// -- session -------------------------------------------------------------------------------

document.getElementById("sign-out")?.addEventListener("click", async (event) => {
  const button = event.currentTarget;
  button.disabled = true;
  try {
    await api.logout();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    button.disabled = false;
    setConnection(error);
    return;
  }
  leaving = true;
  window.location.assign(api.url("/login").toString());
});

// -- start ---------------------------------------------------------------------------------

restoreReturnPoint();
followLocation();
resync();
feed.start();
