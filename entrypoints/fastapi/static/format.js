// Turning API values into text for people: durations, dates, percentages and log lines.

export const STATUSES = Object.freeze([
  "pending",
  "running",
  "success",
  "failed",
  "interrupted",
  "cancelled",
  "rejected",
]);

/** The status if the dashboard knows it, else "unknown" (it becomes a CSS class name). */
export function knownStatus(status) {
  return STATUSES.includes(status) ? status : "unknown";
}

/** True while a task can still be cancelled. */
export function isLive(status) {
  return status === "pending" || status === "running";
}

/** Finished without success: what the Dead letters tab lists and a window replay re-runs. */
export const DEAD_LETTER_STATUSES = Object.freeze(["failed", "interrupted", "rejected"]);

/** True when an operator may run the task again (a cancelled task included). */
export function isRetryable(status) {
  return DEAD_LETTER_STATUSES.includes(status) || status === "cancelled";
}

/** The value as text, or "—" when there is none. */
export function orDash(value) {
  return value === null || value === undefined || value === "" ? "—" : String(value);
}

/**
 * Seconds as "340 ms", "12.5 s", "3m 20s" or "2h 5m"; "—" when unknown.
 * Rounding happens before choosing the unit, so 59.96 s reads "1m 0s", not "60.0 s".
 */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const value = Math.max(0, seconds);
  const ms = Math.round(value * 1000);
  if (ms < 1000) return `${ms} ms`;
  const tenths = Math.round(value * 10);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  const whole = Math.round(value);
  if (whole < 3600) return `${Math.floor(whole / 60)}m ${whole % 60}s`;
  const minutes = Math.round(value / 60);
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/** A rate between 0 and 1 as "87.5 %"; "—" when there is none yet. */
export function formatRate(rate) {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return "—";
  const percent = rate * 100;
  return `${Number.isInteger(percent) ? percent : percent.toFixed(1)} %`;
}

/** A count with thousands separators in the viewer's locale. */
export function formatCount(value) {
  return Number.isFinite(value) ? value.toLocaleString() : "–";
}

const dateParts = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
  timeZoneName: "short",
});

const timeParts = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  fractionalSecondDigits: 3,
  hourCycle: "h23",
});

function parse(iso) {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

function partsOf(format, date) {
  const parts = {};
  for (const { type, value } of format.formatToParts(date)) parts[type] = value;
  return parts;
}

/** An ISO timestamp as "2026-03-14 09:26:53 CET" in the viewer's time zone. */
export function formatDateTime(iso) {
  const date = parse(iso);
  if (date === null) return "—";
  const p = partsOf(dateParts, date);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${p.timeZoneName}`;
}

/** The time of day of an ISO timestamp, "09:26:53.120", in the viewer's time zone. */
export function formatClock(iso) {
  const date = parse(iso);
  if (date === null) return "";
  const p = partsOf(timeParts, date);
  return `${p.hour}:${p.minute}:${p.second}.${p.fractionalSecond}`;
}

/**
 * How far away an ISO timestamp is, as "in 3m 20s" or "5.0 s ago"; "" when unknown.
 */
export function formatRelative(iso, now = Date.now()) {
  const date = parse(iso);
  if (date === null) return "";
  const seconds = (date.getTime() - now) / 1000;
  if (Math.abs(seconds) < 0.5) return "now";
  return seconds > 0
    ? `in ${formatDuration(seconds)}`
    : `${formatDuration(-seconds)} ago`;
}

/** Seconds elapsed since an ISO timestamp (never negative, whatever the clocks say). */
export function secondsSince(iso, now = Date.now()) {
  const date = parse(iso);
  return date === null ? null : Math.max(0, (now - date.getTime()) / 1000);
}

const LOG_LINE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) (.*)$/s;
const LOG_LEVEL = /^\[(DEBUG|INFO|WARNING|ERROR)\] (.*)$/s;
const SEPARATOR = /^--- (.+) ---$/;

/**
 * Splits a stored log line ("<ISO time> [LEVEL] message") into its parts. Lines written in
 * another shape are kept whole as the message. `separator` holds the label of marker lines
 * such as "--- Retry 2 ---".
 */
export function parseLogLine(line) {
  let time = null;
  let level = "info";
  let message = String(line);
  const stamped = LOG_LINE.exec(message);
  if (stamped) {
    time = stamped[1];
    message = stamped[2];
  }
  const levelled = LOG_LEVEL.exec(message);
  if (levelled) {
    level = levelled[1].toLowerCase();
    message = levelled[2];
  }
  const marker = SEPARATOR.exec(message.trim());
  return { time, level, message, separator: marker ? marker[1] : null };
}
