// @ts-check
// Whether the network is known to be gone, and waiting until it is back: a request made offline
// can only fail, and would use up a retry for nothing. The core is given its connectivity (the
// browser's comes from ui/browser.js).

import { abortError } from "./errors.js";

/**
 * @typedef {object} Connectivity
 * @property {() => boolean} isOffline true only when it is known there is no network
 * @property {(signal?: AbortSignal) => Promise<void>} whenOnline resolves at once when online
 */

/**
 * A network that is always there, for a core given no connectivity (outside a browser).
 * @type {Readonly<Connectivity>}
 */
export const ALWAYS_ONLINE = Object.freeze({ isOffline: () => false, whenOnline: () => Promise.resolve() });

/**
 * Connectivity as `isOffline` says it, back when `target` fires "online".
 * @param {{isOffline: () => boolean, target: EventTarget}} source
 * @returns {Connectivity}
 */
export function createConnectivity({ isOffline, target }) {
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
