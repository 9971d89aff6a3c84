// Progress maths: speed over a sliding window, time left, and the overall figures for many files.

/**
 * Measure speed from cumulative byte counts. The window keeps a burst (or a stall) from swinging the
 * estimate; a count that goes down (a part restarted) starts the window over.
 */
export function createSpeedMeter({ windowMs = 5000, now = Date.now } = {}) {
  let samples = [];
  return {
    /** Record that `bytes` have been sent so far. */
    update(bytes) {
      const time = now();
      const last = samples[samples.length - 1];
      if (last && bytes < last.bytes) samples = [];
      samples.push({ time, bytes });
      // Keep one sample older than the window so the window is always fully covered.
      while (samples.length > 2 && time - samples[1].time >= windowMs) samples.shift();
    },
    /** Bytes per second over the window, or 0 until there is at least half a second to go on. */
    speed() {
      if (samples.length < 2) return 0;
      const first = samples[0];
      const last = samples[samples.length - 1];
      const span = last.time - first.time;
      if (span < 500) return 0;
      return ((last.bytes - first.bytes) * 1000) / span;
    },
    /** Forget everything (after a pause the old rate means nothing). */
    reset() {
      samples = [];
    },
  };
}

/** Seconds until `remaining` bytes are sent at `speed` bytes per second, or null if unknown. */
export function timeLeft(remaining, speed) {
  if (!(speed > 0)) return null;
  return Math.max(0, remaining) / speed;
}

// Files that no longer move bytes and do not count in the overall bar.
const LEFT_OUT = new Set(["rejected", "aborted", "cancelling"]);
const DONE = new Set(["uploaded"]);
const ACTIVE = new Set(["preparing", "uploading", "verifying"]);

/**
 * Overall figures for a list of {status, loaded, total, speed}: bytes, percent, files done, speed and
 * seconds left (null when unknown).
 */
export function summarize(items) {
  const counted = items.filter((item) => !LEFT_OUT.has(item.status));
  const total = counted.reduce((sum, item) => sum + item.total, 0);
  const loaded = counted.reduce((sum, item) => sum + Math.min(item.loaded, item.total), 0);
  const speed = counted
    .filter((item) => ACTIVE.has(item.status))
    .reduce((sum, item) => sum + (item.speed || 0), 0);
  const active = counted.filter((item) => ACTIVE.has(item.status) || item.status === "queued").length;
  return {
    count: counted.length,
    done: counted.filter((item) => DONE.has(item.status)).length,
    active,
    loaded,
    total,
    percent: total ? Math.min(100, Math.floor((loaded / total) * 100)) : 0,
    speed,
    secondsLeft: active ? timeLeft(total - loaded, speed) : null,
  };
}
