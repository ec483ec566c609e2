// Folding streamed task changes into the list on screen, as the server would have listed it.

/**
 * The server-side filters of the list, in a form `matchesFilters` reads. `origin` holds the
 * provenance filters (route, method, request_id, principal); an empty value matches any.
 * @typedef {{statuses: string[], funcName: string, queue: string, createdAfter: number|null,
 *   origin?: Object<string, string>}} ListFilters
 */

/** Whether the request that enqueued `task` has every value `origin` asks for. */
function matchesOrigin(task, origin) {
  for (const [name, wanted] of Object.entries(origin ?? {})) {
    if (wanted && task.provenance?.[name] !== wanted) return false;
  }
  return true;
}

/** Whether `task` belongs in a list queried with `filters`. */
export function matchesFilters(task, filters) {
  if (filters.statuses.length > 0 && !filters.statuses.includes(task.status)) return false;
  if (filters.funcName && task.func_name !== filters.funcName) return false;
  if (filters.queue && task.queue !== filters.queue) return false;
  if (!matchesOrigin(task, filters.origin)) return false;
  if (filters.createdAfter !== null && !(Date.parse(task.created_at) >= filters.createdAfter)) {
    return false;
  }
  return true;
}

function newerFirst(a, b) {
  const difference = Date.parse(b.created_at) - Date.parse(a.created_at);
  if (difference !== 0) return difference;
  return a.task_id < b.task_id ? 1 : a.task_id > b.task_id ? -1 : 0;
}

/**
 * Applies streamed records to `tasks` (newest first) and returns the new list with what
 * happened. A task that no longer matches the filters leaves the list; a new matching task
 * joins it where it sorts, unless it is older than the last row while more pages exist (the
 * next page will bring it). Records the server could not read (no `created_at`) only update
 * rows already shown.
 *
 * @param {object[]} tasks The rows on screen.
 * @param {object[]} records Compact records from the stream.
 * @param {ListFilters} filters
 * @param {{hasMore: boolean}} options
 * @returns {{tasks: object[], added: string[], updated: string[], removed: string[]}}
 */
export function mergeChanges(tasks, records, filters, { hasMore }) {
  const byId = new Map(tasks.map((task) => [task.task_id, task]));
  const added = [];
  const updated = [];
  const removed = [];
  const last = tasks.length > 0 ? tasks[tasks.length - 1] : null;
  for (const record of records) {
    const known = byId.get(record.task_id);
    if (known) {
      const merged = { ...known, ...record };
      if (matchesFilters(merged, filters)) {
        byId.set(record.task_id, merged);
        updated.push(record.task_id);
      } else {
        byId.delete(record.task_id);
        removed.push(record.task_id);
      }
      continue;
    }
    if (!record.created_at || !matchesFilters(record, filters)) continue;
    if (hasMore && last !== null && newerFirst(record, last) > 0) continue;
    byId.set(record.task_id, record);
    added.push(record.task_id);
  }
  if (added.length === 0 && updated.length === 0 && removed.length === 0) {
    return { tasks, added, updated, removed };
  }
  const next = [...byId.values()];
  if (added.length > 0) next.sort(newerFirst);
  return { tasks: next, added, updated, removed };
}
