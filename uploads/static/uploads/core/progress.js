// @ts-check
// Progress maths: speed over a sliding window, time left, and the overall figures for many files.

import { STATES } from "./states.js";

/** @import { PageStatus } from "./states.js" */

/**
 * @typedef {object} SpeedMeter
 * @property {(bytes: number) => void} update record that `bytes` have been sent so far
 * @property {() => number} speed bytes per second over the window (0 until half a second is covered)
 * @property {() => void} reset forget everything (after a pause the old rate means nothing)
 */

/** @typedef {{status: PageStatus, loaded: number, total: number, speed: number}} ProgressFacts */

/**
 * @typedef {object} Summary
 * @property {number} count files that count (refused and cancelled ones do not)
 * @property {number} done files uploaded
 * @property {number} active files moving or waiting to
 * @property {number} loaded
 * @property {number} total
 * @property {number} percent
 * @property {number} speed bytes per second, all files together
 * @property {number | null} secondsLeft null when unknown
 */

/**
 * Measure speed from cumulative byte counts. The window keeps a burst (or a stall) from swinging the
 * estimate; a count that goes down (a part restarted) starts the window over.
 * @param {{windowMs?: number, now?: () => number}} [options]
 * @returns {SpeedMeter}
 */
export function createSpeedMeter({ windowMs = 5000, now = Date.now } = {}) {
  /** @type {{time: number, bytes: number}[]} */
  let samples = [];
  return {
    update(bytes) {
      const time = now();
      const last = samples[samples.length - 1];
      if (last && bytes < last.bytes) samples = [];
      samples.push({ time, bytes });
      // Keep one sample older than the window so the window is always fully covered.
      while (samples.length > 2 && time - samples[1].time >= windowMs) samples.shift();
    },
    speed() {
      if (samples.length < 2) return 0;
      const first = samples[0];
      const last = samples[samples.length - 1];
      const span = last.time - first.time;
      if (span < 500) return 0;
      return ((last.bytes - first.bytes) * 1000) / span;
    },
    reset() {
      samples = [];
    },
  };
}

/** Seconds until `remaining` bytes are sent at `speed` bytes per second, or null if unknown. */
export function timeLeft(/** @type {number} */ remaining, /** @type {number} */ speed) {
  if (!(speed > 0)) return null;
  return Math.max(0, remaining) / speed;
}

/**
 * Overall figures for many files, each counted as its status says.
 * @param {readonly ProgressFacts[]} items
 * @returns {Summary}
 */
export function summarize(items) {
  const counted = items.filter((item) => STATES[item.status].counted);
  const total = counted.reduce((sum, item) => sum + item.total, 0);
  const loaded = counted.reduce((sum, item) => sum + Math.min(item.loaded, item.total), 0);
  const speed = counted.filter((item) => STATES[item.status].sending).reduce((sum, item) => sum + (item.speed || 0), 0);
  const active = counted.filter((item) => STATES[item.status].busy).length;
  return {
    count: counted.length,
    done: counted.filter((item) => STATES[item.status].done).length,
    active,
    loaded,
    total,
    percent: total ? Math.min(100, Math.floor((loaded / total) * 100)) : 0,
    speed,
    secondsLeft: active ? timeLeft(total - loaded, speed) : null,
  };
}
