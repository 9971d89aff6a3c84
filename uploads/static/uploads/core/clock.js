// @ts-check
// Time, as the uploader core is given it: the current time and an abortable wait. Tests pass their
// own clock; the page passes the system's.

import { abortError } from "./errors.js";

/**
 * @typedef {object} Clock
 * @property {() => number} now milliseconds since the epoch
 * @property {(ms: number, signal?: AbortSignal) => Promise<void>} sleep
 */

/** Wait `ms` milliseconds, or reject with an AbortError as soon as `signal` aborts. */
export function sleep(/** @type {number} */ ms, /** @type {AbortSignal | undefined} */ signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(undefined);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The real clock.
 * @type {Readonly<Clock>}
 */
export const systemClock = Object.freeze({ now: () => Date.now(), sleep });
