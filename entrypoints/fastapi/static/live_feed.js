// Where live changes come from: the server's event stream, with polling as the fallback.

/** Longest wait before a refused stream (e.g. by a proxy) is tried again. */
const MAX_REOPEN_MS = 60_000;

/**
 * Streams task changes from `{path}/stream` and polls every `pollMs` as well: the poll covers
 * other instances whose store broadcasts nothing, and carries the page alone while the stream
 * is down or the browser has no EventSource.
 *
 * Hooks: `onTasks(records)` for a batch of changed tasks; `onResync()` when the page must
 * re-query (the server's batch overflowed, or the stream came back after a gap);
 * `onPoll()` every `pollMs`; `onMode(mode)` with "stream", "connecting" or "polling".
 */
export class LiveFeed {
  constructor({ url, pollMs, onTasks, onResync, onPoll, onMode }) {
    this.url = url;
    this.pollMs = pollMs;
    this.hooks = { onTasks, onResync, onPoll, onMode };
    this.source = null;
    this.mode = null;
    this.everOpened = false;
    this.reopenMs = 2000;
    this.reopenTimer = null;
    this.pollTimer = null;
  }

  start() {
    this.schedulePoll();
    if (typeof window.EventSource !== "function") {
      this.setMode("polling");
      return;
    }
    this.open();
  }

  open() {
    clearTimeout(this.reopenTimer);
    this.setMode("connecting");
    const source = new EventSource(this.url, { withCredentials: true });
    this.source = source;
    source.addEventListener("open", () => {
      this.reopenMs = 2000;
      this.setMode("stream");
      // Changes made while the stream was away were not sent: read the current state.
      if (this.everOpened) this.hooks.onResync();
      this.everOpened = true;
    });
    source.addEventListener("tasks", (event) => {
      let records;
      try {
        records = JSON.parse(event.data).tasks;
      } catch {
        this.hooks.onResync();
        return;
      }
      if (Array.isArray(records)) this.hooks.onTasks(records);
    });
    source.addEventListener("resync", () => this.hooks.onResync());
    source.addEventListener("error", () => {
      if (source !== this.source) return;
      if (source.readyState === EventSource.CLOSED) {
        // Refused (an error status, a proxy without streaming): poll, and try again later.
        this.source = null;
        this.setMode("polling");
        this.reopenTimer = setTimeout(() => this.open(), this.reopenMs);
        this.reopenMs = Math.min(MAX_REOPEN_MS, this.reopenMs * 2);
      } else {
        // The browser reconnects by itself; meanwhile the poll keeps the page current.
        this.setMode("connecting");
      }
    });
  }

  schedulePoll() {
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      if (!document.hidden) this.hooks.onPoll();
      this.schedulePoll();
    }, this.pollMs);
  }

  setMode(mode) {
    if (mode === this.mode) return;
    this.mode = mode;
    this.hooks.onMode(mode);
  }

  get streaming() {
    return this.mode === "stream";
  }
}
