// @ts-check
// The mediaupload API as the uploader calls it: JSON over fetch, with the session cookie and the
// CSRF token. Its answers are read by answers.js, into typed facts.

import { readAuthorization, readCreated, readPage, readPartListing, readRecord, readSignedParts, refusal } from "./answers.js";
import { ApiError } from "./errors.js";

/**
 * @import { CreatedRecord, FileFacts, MediaRecord, PartListing, RecordPage, SignedParts,
 *   UploadDescriptor } from "./answers.js"
 * @import { Protocol } from "./protocol.js"
 */

/** A part storage holds, named with the ETag it answered the PUT with (for `complete`). */
/** @typedef {{part_number: number, etag: string}} PartETag */

/**
 * @typedef {object} ApiClient
 * @property {(file: FileFacts, idempotencyKey: string, signal?: AbortSignal) => Promise<CreatedRecord>} create
 *   declare a file; repeating it with the same key gives the same record (a lost answer is safe to retry)
 * @property {(id: string, signal?: AbortSignal) => Promise<MediaRecord>} get
 * @property {(id: string, signal?: AbortSignal) => Promise<UploadDescriptor>} authorize a fresh
 *   authorisation for the same pending record
 * @property {(id: string, partNumbers: number[], signal?: AbortSignal) => Promise<SignedParts>} signParts
 * @property {(id: string, signal?: AbortSignal) => Promise<PartListing>} listParts what storage holds
 * @property {(id: string, signal?: AbortSignal, parts?: PartETag[] | null) => Promise<MediaRecord>} complete
 *   verify (and assemble: with every part's ETag when they are known, else the server lists them);
 *   a record made for a form's field comes back with its `field_value`
 * @property {(id: string, signal?: AbortSignal) => Promise<MediaRecord>} abort discard the upload
 * @property {(pageSize: number, signal?: AbortSignal) => Promise<RecordPage>} list the newest records
 * @property {(signal?: AbortSignal) => Promise<RecordPage>} listPending where a resumable upload may be
 */

/**
 * Make a client for the API rooted at `base` (e.g. "/api/media/"). A form widget gives the model
 * `field` it uploads for (`app_label.model.field`): every create names it, so the server applies
 * that field's narrower limits before it signs anything, and completes it with the value the
 * field submits. The page gives none. `protocol` reads the answers' statuses and refusals.
 * @param {{base: string, csrfToken: string, protocol: Protocol, fetch?: typeof globalThis.fetch, field?: string}} options
 * @returns {ApiClient}
 */
export function createApi({ base, csrfToken, protocol, fetch = globalThis.fetch.bind(globalThis), field = "" }) {
  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} body
   * @param {AbortSignal | undefined} signal
   * @param {Record<string, string>} [extraHeaders]
   * @returns {Promise<unknown>}
   */
  async function request(method, path, body, signal, extraHeaders = {}) {
    /** @type {Response} */
    let response;
    try {
      response = await fetch(base + path, {
        method,
        credentials: "same-origin",
        signal,
        headers: {
          Accept: "application/json",
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          ...(method === "GET" ? {} : { "X-CSRFToken": csrfToken }),
          ...extraHeaders,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      // fetch rejects only when no answer came back at all
      throw new ApiError(0, { action: protocol.appAction(0, "") });
    }
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw refusal(response, data, protocol);
    return data;
  }

  return {
    create: async (file, idempotencyKey, signal) => {
      const facts = { filename: file.name, content_type: file.type.toLowerCase(), size: file.size, ...(field ? { field } : {}) };
      return readCreated(await request("POST", "", facts, signal, { "Idempotency-Key": idempotencyKey }), protocol);
    },
    get: async (id, signal) => readRecord(await request("GET", `${id}/`, undefined, signal), protocol),
    authorize: async (id, signal) => readAuthorization(await request("POST", `${id}/authorize/`, undefined, signal)),
    signParts: async (id, partNumbers, signal) => {
      const most = protocol.maxPartsPerSign;
      if (!partNumbers.length || partNumbers.length > most) {
        throw new RangeError(`Ask for 1 to ${most} parts at a time, not ${partNumbers.length}.`);
      }
      return readSignedParts(await request("POST", `${id}/parts/`, { part_numbers: partNumbers }, signal));
    },
    listParts: async (id, signal) => readPartListing(await request("GET", `${id}/parts/`, undefined, signal)),
    complete: async (id, signal, parts) =>
      readRecord(await request("POST", `${id}/complete/`, parts ? { parts } : undefined, signal), protocol),
    abort: async (id, signal) => readRecord(await request("POST", `${id}/abort/`, undefined, signal), protocol),
    list: async (pageSize, signal) => readPage(await request("GET", `?page_size=${pageSize}`, undefined, signal), protocol),
    listPending: async (signal) => {
      const query = `?status=${encodeURIComponent(protocol.openStatus)}&page_size=100`;
      return readPage(await request("GET", query, undefined, signal), protocol);
    },
  };
}
