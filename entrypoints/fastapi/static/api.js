// The admin JSON API, addressed from the mount path the server put in the page.

/** The header state-changing requests carry the session's CSRF token in. */
export const CSRF_HEADER = "X-Taskflow-CSRF";

const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** A 4xx/5xx answer; `detail` is the server's explanation, ready to show. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
  }
}

async function detailOf(response) {
  try {
    const body = await response.json();
    const detail = body?.detail;
    if (typeof detail === "string") return detail;
    // Validation errors arrive as a list of {loc, msg}.
    if (Array.isArray(detail)) return detail.map((item) => item?.msg ?? String(item)).join("; ");
  } catch {
    // Not JSON (a proxy's error page, for instance): fall back to the status line.
  }
  return `${response.status} ${response.statusText}`.trim();
}

export class Api {
  /**
   * @param {string} base The admin path as the browser sees it, e.g. "/tasks".
   * @param {{csrfToken?: string, onUnauthorized?: () => void}} options `onUnauthorized` runs
   *   when the server answers 401: the session ended.
   */
  constructor(base, { csrfToken = "", onUnauthorized = null } = {}) {
    this.base = base.replace(/\/+$/, "");
    this.csrfToken = csrfToken;
    this.onUnauthorized = onUnauthorized;
  }

  url(suffix = "", params = null) {
    const url = new URL(this.base + suffix, window.location.origin);
    if (params) url.search = params.toString();
    return url;
  }

  async request(url, init = {}) {
    const method = (init.method ?? "GET").toUpperCase();
    const headers = { Accept: "application/json", ...(init.headers ?? {}) };
    if (UNSAFE_METHODS.has(method) && this.csrfToken) headers[CSRF_HEADER] = this.csrfToken;
    const response = await fetch(url, {
      ...init,
      method,
      headers,
      cache: "no-store",
      credentials: "same-origin",
    });
    if (response.status === 401 && this.onUnauthorized) this.onUnauthorized();
    if (!response.ok) throw new ApiError(response.status, await detailOf(response));
    return response;
  }

  async json(suffix, init = {}, params = null) {
    return (await this.request(this.url(suffix, params), init)).json();
  }

  post(suffix, body = undefined, params = null) {
    const init = { method: "POST" };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { "Content-Type": "application/json" };
    }
    return this.json(suffix, init, params);
  }

  /**
   * One page of a list, newest first.
   * @returns {Promise<{items: object[], nextCursor: string|null}>}
   */
  async page(suffix, params) {
    const response = await this.request(this.url(suffix, params));
    return { items: await response.json(), nextCursor: response.headers.get("X-Next-Cursor") };
  }

  /**
   * One page of tasks, newest first.
   * @param {URLSearchParams} params status (repeatable), func_name, queue, created_after,
   *   limit, cursor.
   * @returns {Promise<{tasks: object[], nextCursor: string|null}>}
   */
  async listTasks(params) {
    const { items, nextCursor } = await this.page("", params);
    return { tasks: items, nextCursor };
  }

  metrics() {
    return this.json("/metrics");
  }

  /** The text of a chart the server renders as SVG, e.g. "/charts/activity.svg". */
  async svg(suffix, params = null) {
    const init = { headers: { Accept: "image/svg+xml" } };
    return (await this.request(this.url(suffix, params), init)).text();
  }

  /**
   * Tasks finished per interval, by outcome.
   * @param {{since: string, buckets: number, funcName?: string, timeZone: string}} options
   */
  activityChart({ since, buckets, funcName = "", timeZone }) {
    const params = new URLSearchParams({ since, buckets: String(buckets), tz: timeZone });
    if (funcName) params.set("func_name", funcName);
    return this.svg("/charts/activity.svg", params);
  }

  /** How many runs of `funcName` (every function when empty) took how long. */
  durationsChart(funcName = "") {
    const params = new URLSearchParams();
    if (funcName) params.set("func_name", funcName);
    return this.svg("/charts/durations.svg", params);
  }

  task(taskId) {
    return this.json(`/${encodeURIComponent(taskId)}`);
  }

  cancel(taskId) {
    return this.post(`/${encodeURIComponent(taskId)}/cancel`);
  }

  /**
   * Runs a finished task again as a new task.
   * @param {{kwargs?: object, tags?: object}|undefined} edits Edit-and-replay changes.
   * @returns {Promise<{task_id: string, retried_from: string, task: object}>}
   */
  retry(taskId, edits = undefined) {
    return this.post(`/${encodeURIComponent(taskId)}/retry`, edits);
  }

  /** @returns {Promise<{dispatched: number, skipped: number, results: object[]}>} */
  bulkRetry(taskIds) {
    return this.post("/bulk-retry", { task_ids: taskIds });
  }

  /** Replays the dead letters of a window: "1h", "6h", "24h", "7d" or "all". */
  retryFailed(since, funcName = "") {
    const params = new URLSearchParams({ since });
    if (funcName) params.set("func_name", funcName);
    return this.post("/retry-failed", undefined, params);
  }

  /** Deletes finished tasks older than `value` `unit`s ("min", "hour" or "day"). */
  deleteHistory(value, unit) {
    const params = new URLSearchParams({ value: String(value), unit });
    return this.json("/history", { method: "DELETE" }, params);
  }

  functions() {
    return this.json("/functions");
  }

  schedules() {
    return this.json("/schedules");
  }

  queues() {
    return this.json("/queues");
  }

  /** @param {{concurrency?: number|null, max_size?: number|null, fair_by?: string|null}} changes */
  updateQueue(name, changes) {
    return this.json(`/queues/${encodeURIComponent(name)}`, {
      method: "PATCH",
      body: JSON.stringify(changes),
      headers: { "Content-Type": "application/json" },
    });
  }

  /** @param {URLSearchParams} params action, actor, task_id, limit, cursor. */
  audit(params) {
    return this.page("/audit", params);
  }

  /** Ends the session; the server answers 204. */
  async logout() {
    await this.request(this.url("/logout"), { method: "POST" });
  }

  streamUrl() {
    return this.url("/stream").toString();
  }

  loginUrl(next) {
    return this.url("/login", new URLSearchParams({ next })).toString();
  }
}
