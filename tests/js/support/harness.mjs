// Wiring for upload tests: the real uploader core on a fake server, with retries that do not wait.
import { createApi } from "../../../uploads/static/uploads/api.js";
import { readConfig } from "../../../uploads/static/uploads/config.js";
import { createResumeStore } from "../../../uploads/static/uploads/resume.js";
import { retryPolicy } from "../../../uploads/static/uploads/retry.js";
import { createUploader } from "../../../uploads/static/uploads/uploader-core.js";

/** The page's config for the fake server: parts above 10 bytes, two at a time. */
export const testConfig = (overrides = {}) =>
  readConfig({ csrfToken: "tok", multipartThreshold: 10, parallelParts: 2, parallelFiles: 2, ...overrides });

/**
 * An uploader (the page's controller) on `server`; `store` is shared between "page loads" to
 * stand in for localStorage, and `fetch` may be wrapped to watch requests.
 */
export function setup(server, { store = createResumeStore(null), config = testConfig(), fetch = server.fetch, connectivity } = {}) {
  const api = createApi({ base: "/api/media/", csrfToken: config.csrfToken, fetch });
  const uploader = createUploader({
    config,
    api,
    postForm: server.postForm,
    putPart: server.putPart,
    store,
    connectivity,
    retry: retryPolicy({ wait: async (ms, signal) => signal?.throwIfAborted() }),
  });
  return { uploader, store, api, make: (file) => uploader.add([file])[0] };
}

/** Resolve once the upload's status is one of `statuses`. */
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
export function watch(upload) {
  const statuses = [upload.snapshot.status];
  const messages = [];
  upload.subscribe((snapshot, change) => {
    if (change === "status") statuses.push(snapshot.status);
    if (snapshot.message && messages.at(-1) !== snapshot.message) messages.push(snapshot.message);
  });
  return { statuses, messages };
}
