// @ts-check
// The uploader core's front door, for the page or any other consumer (a form widget): files go in,
// each becomes an Upload, refused on the spot (no request at all) when it breaks the server's
// limits, else queued, a few at a time. Knows nothing of the browser: every collaborator is given.

import { createClaims } from "./claims.js";
import { systemClock } from "./clock.js";
import { ALWAYS_ONLINE } from "./connectivity.js";
import { checkFile } from "./limits.js";
import { createQueue } from "./queue.js";
import { retryPolicy } from "./retry.js";
import { Upload } from "./upload.js";

/**
 * @import { ApiClient } from "./api.js"
 * @import { Claims } from "./claims.js"
 * @import { Clock } from "./clock.js"
 * @import { UploaderConfig } from "./config.js"
 * @import { Connectivity } from "./connectivity.js"
 * @import { Queue } from "./queue.js"
 * @import { ResumeStore } from "./resume.js"
 * @import { RetryPolicy } from "./retry.js"
 * @import { FormSender, PutSender } from "./transfer.js"
 */

/**
 * @typedef {object} UploaderOptions
 * @property {Pick<UploaderConfig, "maxBytes" | "allowedTypes" | "acceptedSummary" | "multipartThreshold"
 *   | "parallelParts" | "parallelFiles" | "policyExpires" | "protocol">} config the server's limits and settings
 * @property {ApiClient} api
 * @property {FormSender} postForm
 * @property {PutSender} putPart
 * @property {ResumeStore} store
 * @property {Clock} [clock]
 * @property {Connectivity} [connectivity] the browser's, for one that goes offline
 * @property {RetryPolicy} [retry] defaults to backoff on `clock`, waiting out offline spells
 * @property {Claims} [claims] shared by several uploaders on one page (a form's widgets, one per
 *   field), so no two of their uploads drive one record; each uploader has its own by default
 * @property {Queue} [queue] shared likewise, so parallelFiles holds for the whole page; by default
 *   each uploader has its own, of `config.parallelFiles`
 */

/**
 * @typedef {object} Uploader
 * @property {(files: Iterable<File>) => Upload[]} add take files in, in order
 * @property {(listener: (upload: Upload) => void) => () => void} onAdd hear of each new upload
 *   before it is refused or queued, so nothing it says is missed
 * @property {() => Upload[]} uploads every upload so far, in the order added
 * @property {() => boolean} busy whether any upload needs the page open
 */

/** @returns {Uploader} */
export function createUploader(/** @type {UploaderOptions} */ options) {
  const { config, api, postForm, putPart, store } = options;
  const clock = options.clock ?? systemClock;
  const connectivity = options.connectivity ?? ALWAYS_ONLINE;
  const queue = options.queue ?? createQueue({ concurrency: config.parallelFiles });
  const deps = {
    api,
    postForm,
    putPart,
    store,
    claims: options.claims ?? createClaims(), // one record per upload, even for the same file picked twice
    clock,
    connectivity,
    retry: options.retry ?? retryPolicy({ clock, connectivity }),
    protocol: config.protocol,
    settings: config,
    schedule: (/** @type {() => Promise<void>} */ task, /** @type {{front: boolean}} */ order) => queue.add(task, order),
  };
  /** @type {Upload[]} */
  const uploads = [];
  /** @type {Set<(upload: Upload) => void>} */
  const listeners = new Set();

  return {
    add(files) {
      return [...files].map((file) => {
        const upload = new Upload(file, deps);
        uploads.push(upload);
        for (const listener of listeners) listener(upload);
        const problem = checkFile(file, config);
        if (problem) upload.reject(problem);
        else upload.start();
        return upload;
      });
    },
    onAdd(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    uploads: () => [...uploads],
    busy: () => uploads.some((upload) => upload.busy),
  };
}
