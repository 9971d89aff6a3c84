// @ts-check
// Numbers in words people read: sizes, percentages, speeds, durations and clock times.

/** @typedef {number} ByteCount bytes, as File.size counts them */
/** @typedef {number} Seconds */

const UNITS = ["bytes", "KB", "MB", "GB", "TB"];

/** Format a byte count the way the admin's filesizeformat does (1024-based). */
export function formatBytes(/** @type {ByteCount} */ bytes) {
  if (!Number.isFinite(bytes)) return "no limit";
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? "byte" : "bytes"}`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** Whole percent of `loaded` over `total`, never above 100. */
export function percent(/** @type {ByteCount} */ loaded, /** @type {ByteCount} */ total) {
  if (!total) return 0;
  return Math.min(100, Math.floor((loaded / total) * 100));
}

/** Format a transfer rate in bytes per second, e.g. "2.4 MB/s" ("" when nothing moves). */
export function formatSpeed(/** @type {number} */ bytesPerSecond) {
  if (!(bytesPerSecond > 0)) return "";
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** Format a duration in seconds coarsely ("45 s", "3 min 20 s", "2 h 5 min"), as people read it. */
export function formatDuration(/** @type {Seconds} */ seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  const whole = Math.max(1, Math.ceil(seconds));
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) {
    const minutes = Math.floor(whole / 60);
    const rest = whole % 60;
    return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
  }
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  return minutes ? `${hours} h ${minutes} min` : `${hours} h`;
}

/**
 * A media duration as a player shows it: "0:05", "12:34", "1:02:03" ("" when unknown: files
 * without a duration in their header, such as MediaRecorder's WebM, report Infinity or NaN).
 */
export function formatClock(/** @type {Seconds} */ seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = String(whole % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}
