// Small formatting helpers shared by the page's views.

const UNITS = ["bytes", "KB", "MB", "GB", "TB"];

/** Format a byte count the way the admin's filesizeformat does (1024-based). */
export function formatBytes(bytes) {
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
export function percent(loaded, total) {
  if (!total) return 0;
  return Math.min(100, Math.floor((loaded / total) * 100));
}
