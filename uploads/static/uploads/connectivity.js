// @ts-check
// Whether the browser knows it is offline, and waiting until it is back: a request made offline
// can only fail, and would use up a retry for nothing.

import { abortError } from "./errors.js";

/**
 * @typedef {object} Connectivity
 * @property {() => boolean} isOffline true only when the browser knows it has no network
 * @property {(signal?: AbortSignal) => Promise<void>} whenOnline resolves at once when online
 */

/**
 * The connectivity of `target` (the window: its navigator.onLine and "online" event). Outside a
 * browser there is no navigator, and the network counts as there.
 * @param {EventTarget & {navigator?: {onLine?: boolean}}} [target]
 * @returns {Connectivity}
 */
export function createConnectivity(target = globalThis) {
  const isOffline = () => target.navigator?.onLine === false;
  return {
    isOffline,
    whenOnline(signal) {
      if (!isOffline()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        if (signal?.aborted) {
          reject(abortError());
          return;
        }
        const online = () => {
          signal?.removeEventListener("abort", stop);
          resolve();
        };
        const stop = () => {
          target.removeEventListener("online", online);
          reject(abortError());
        };
        target.addEventListener("online", online, { once: true });
        signal?.addEventListener("abort", stop, { once: true });
      });
    },
  };
}
