// Wiring for upload tests: the real uploader core on a fake server, with retries that do not wait.
import { createApi } from "../../../uploads/static/uploads/core/api.js";
import { readConfig } from "../../../uploads/static/uploads/core/config.js";
import { createConnectivity } from "../../../uploads/static/uploads/core/connectivity.js";
import { abortError } from "../../../uploads/static/uploads/core/errors.js";
import { createResumeStore } from "../../../uploads/static/uploads/core/resume.js";
import { retryPolicy } from "../../../uploads/static/uploads/core/retry.js";
import { createUploader } from "../../../uploads/static/uploads/core/uploader.js";
import { tick } from "./fake-server.mjs";
import { PROTOCOL_TABLE } from "./protocol.mjs";

/**
 * @import { Clock } from "../../../uploads/static/uploads/core/clock.js"
 * @import { Connectivity } from "../../../uploads/static/uploads/core/connectivity.js"
 * @import { ResumeStore } from "../../../uploads/static/uploads/core/resume.js"
 * @import { PageStatus } from "../../../uploads/static/uploads/core/states.js"
 * @import { Upload } from "../../../uploads/static/uploads/core/upload.js"
 * @import { UploadSnapshot } from "../../../uploads/static/uploads/core/upload-status.js"
 * @import { FakeServer } from "./fake-server.mjs"
 */

/** The page's config for the fake server: parts above 10 bytes, two at a time. */
export const testConfig = (/** @type {Record<string, unknown>} */ overrides = {}) =>
  readConfig({ csrfToken: "tok", multipartThreshold: 10, parallelParts: 2, parallelFiles: 2, protocol: PROTOCOL_TABLE, ...overrides });

/**
 * An uploader (the page's controller) on `server`; `store` is shared between "page loads" to
 * stand in for localStorage, and `fetch` may be wrapped to watch requests.
 * @param {FakeServer} server
 * @param {{store?: ResumeStore, config?: ReturnType<typeof testConfig>, fetch?: typeof globalThis.fetch,
 *   connectivity?: Connectivity}} [options]
 */
export function setup(server, { store = createResumeStore(null), config = testConfig(), fetch = server.fetch, connectivity } = {}) {
  const api = createApi({ base: "/api/media/", csrfToken: config.csrfToken, protocol: config.protocol, fetch });
  const uploader = createUploader({
    config,
    api,
    postForm: server.postForm,
    putPart: server.putPart,
    store,
    connectivity,
    retry: retryPolicy({ wait: async (ms, signal) => signal?.throwIfAborted() }),
  });
  return { uploader, store, api, make: (/** @type {File} */ file) => uploader.add([file])[0] };
}

/**
 * Resolve once the upload's status is one of `statuses`.
 * @param {Upload} upload
 * @param {...PageStatus} statuses
 * @returns {Promise<UploadSnapshot>}
 */
export function until(upload, ...statuses) {
  if (statuses.includes(upload.snapshot.status)) return Promise.resolve(upload.snapshot);
  return new Promise((resolve) => {
    const stop = upload.subscribe((snapshot) => {
      if (statuses.includes(snapshot.status)) {
        stop();
        resolve(snapshot);
      }
    });
  });
}

/** Every status an upload moves through and every message it says, in order (repeats folded). */
export function watch(/** @type {Upload} */ upload) {
  const statuses = [upload.snapshot.status];
  /** @type {string[]} */
  const messages = [];
  upload.subscribe((snapshot, change) => {
    if (change === "status") statuses.push(snapshot.status);
    if (snapshot.message && messages.at(-1) !== snapshot.message) messages.push(snapshot.message);
  });
  return { statuses, messages };
}

/** A network that is down until `reconnect()`. */
export function offline() {
  const target = new EventTarget();
  let down = true;
  const connectivity = createConnectivity({ isOffline: () => down, target });
  return {
    connectivity,
    reconnect() {
      down = false;
      target.dispatchEvent(new Event("online"));
    },
  };
}

/**
 * A clock whose time passes only when a test says: each sleep waits until `wake()`, which moves
 * the time on by that sleep and lets the sleeper run for a few turns. `slept` lists every sleep
 * asked for, in milliseconds.
 */
export function manualClock(start = Date.parse("2026-11-30T12:00:00Z")) {
  let time = start;
  /** @type {number[]} */
  const slept = [];
  /** @type {{ms: number, resolve: () => void}[]} */
  const sleepers = [];
  /** @type {Clock & {slept: number[], sleeping: () => number, wake: () => Promise<void>}} */
  const clock = {
    slept,
    now: () => time,
    sleep(ms, signal) {
      slept.push(ms);
      return new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(abortError());
        const sleeper = { ms, resolve: () => resolve(undefined) };
        sleepers.push(sleeper);
        signal?.addEventListener("abort", () => {
          sleepers.splice(sleepers.indexOf(sleeper), 1);
          reject(abortError());
        });
      });
    },
    sleeping: () => sleepers.length,
    async wake() {
      const sleeper = sleepers.shift();
      if (!sleeper) throw new Error("Nothing is waiting on the clock.");
      time += sleeper.ms;
      sleeper.resolve();
      for (let turn = 0; turn < 10; turn += 1) await tick();
    },
  };
  return clock;
}
