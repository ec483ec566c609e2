// The admin JSON API, addressed from the mount path the server put in the page.

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
  /** @param {string} base The admin path as the browser sees it, e.g. "/tasks". */
  constructor(base) {
    this.base = base.replace(/\/+$/, "");
  }

  url(suffix = "", params = null) {
    const url = new URL(this.base + suffix, window.location.origin);
    if (params) url.search = params.toString();
    return url;
  }

  async request(url, init = {}) {
    const response = await fetch(url, {
      ...init,
      headers: { Accept: "application/json", ...(init.headers ?? {}) },
      cache: "no-store",
      credentials: "same-origin",
    });
    if (!response.ok) throw new ApiError(response.status, await detailOf(response));
    return response;
  }

  /**
   * One page of tasks, newest first.
   * @param {URLSearchParams} params status (repeatable), func_name, created_after, limit, cursor.
   * @returns {Promise<{tasks: object[], nextCursor: string|null}>}
   */
  async listTasks(params) {
    const response = await this.request(this.url("", params));
    return { tasks: await response.json(), nextCursor: response.headers.get("X-Next-Cursor") };
  }

  async metrics() {
    return (await this.request(this.url("/metrics"))).json();
  }

  async task(taskId) {
    return (await this.request(this.url(`/${encodeURIComponent(taskId)}`))).json();
  }

  async cancel(taskId) {
    const url = this.url(`/${encodeURIComponent(taskId)}/cancel`);
    return (await this.request(url, { method: "POST" })).json();
  }
}
