// @ts-check
// The requests of each step of an upload: find or declare its record, send a form or the missing
// parts, call the API through retries. Steps change nothing themselves: they return what they
// learnt and report what happens (bytes, parts stored, retries) to their upload, which applies it.

import { ContractError, isUnanswered } from "./errors.js";
import { sendParts } from "./parts.js";
import { findResumable } from "./resume.js";
import { withRetry } from "./retry.js";

/**
 * @import { ApiClient, PartETag } from "./api.js"
 * @import { MediaRecord, PartListing, PostUpload, SignedParts } from "./answers.js"
 * @import { Claims } from "./claims.js"
 * @import { Clock } from "./clock.js"
 * @import { Connectivity } from "./connectivity.js"
 * @import { Protocol } from "./protocol.js"
 * @import { Caller, ResumeStore } from "./resume.js"
 * @import { RetryPolicy } from "./retry.js"
 * @import { FormSender, PutSender } from "./transfer.js"
 */

/**
 * What an upload is given to work with.
 * @typedef {object} UploadDeps
 * @property {ApiClient} api
 * @property {FormSender} postForm
 * @property {PutSender} putPart
 * @property {ResumeStore} store
 * @property {Claims} claims
 * @property {Clock} clock
 * @property {Connectivity} connectivity
 * @property {RetryPolicy} retry
 * @property {Protocol} protocol
 * @property {{multipartThreshold: number, parallelParts: number, policyExpires: number}} settings
 * @property {(task: () => Promise<void>, options: {front: boolean}) => {cancel(): boolean}} schedule
 */

/**
 * What a step reports: bytes in storage or on their way (all of the file's), a part storage now
 * holds, a retry, a renewal, waiting for the network, and things moving normally again.
 * @typedef {{type: "progress", bytes: number}
 *   | {type: "part", number: number, size: number, etag: string}
 *   | {type: "retry", error: unknown, delay: number}
 *   | {type: "renew"} | {type: "offline"} | {type: "settled"}} StepEvent
 */

/** @typedef {{deps: UploadDeps, report: (event: StepEvent) => void}} StepContext */

/**
 * How a multipart upload stands: the server's part size and count, the parts storage misses (null:
 * ask it), the bytes it holds, and the ETags of the parts it holds as far as they are known.
 * @typedef {{partSize: number, partCount: number, missing: number[] | null, held: number,
 *   etags: Map<number, string>, firstParts: SignedParts | null}} PartState
 */

/**
 * A record to upload to, and how: a POST form, or parts (with what storage already holds).
 * @typedef {{record: MediaRecord, form: PostUpload | null, parts: PartState | null, resumed: boolean}} OpenedRecord
 */

// A POST policy this close to its expiry is renewed before sending, so a try does not start doomed.
const POLICY_MARGIN_MS = 5_000;

/**
 * Call the API once the network is there, retrying what is safe to retry and reporting it;
 * `retryIf` can keep a retry for the caller to handle its own way.
 * @template T
 * @param {StepContext} ctx
 * @param {(signal?: AbortSignal) => Promise<T>} request
 * @param {AbortSignal} [signal]
 * @param {{idempotent?: boolean, retryIf?: (error: unknown) => boolean}} [options]
 * @returns {Promise<T>}
 */
export async function call(ctx, request, signal, { idempotent = true, retryIf = () => true } = {}) {
  await whenOnline(ctx, signal);
  const result = await withRetry(() => request(signal), {
    policy: ctx.deps.retry,
    signal,
    // No answer to a create may still have made a record: repeating it could make a second one.
    shouldRetry: (error) => (idempotent || !isUnanswered(error)) && retryIf(error),
    onRetry: ({ error, delay }) => ctx.report({ type: "retry", error, delay }),
  });
  ctx.report({ type: "settled" });
  return result;
}

/** Hold a request back while the browser knows it is offline: it could only fail. */
async function whenOnline(/** @type {StepContext} */ { deps, report }, /** @type {AbortSignal | undefined} */ signal) {
  if (!deps.connectivity.isOffline()) return;
  report({ type: "offline" });
  await deps.connectivity.whenOnline(signal);
  report({ type: "settled" });
}

/**
 * Resume the pending record this file was already going up as (claimed for `holder`), or declare
 * the file to the server. Only files above the multipart threshold can have parts to resume.
 * @param {File} file
 * @param {StepContext} ctx
 * @param {object} holder
 * @param {string} createKey the Idempotency-Key of this file's create (new for each new record)
 * @param {AbortSignal} signal
 * @returns {Promise<OpenedRecord>}
 */
export async function openRecord(file, ctx, holder, createKey, signal) {
  const { api, store, claims, protocol, settings } = ctx.deps;
  if (file.size > settings.multipartThreshold) {
    /** @type {Caller} */
    const caller = (request, s) => call(ctx, request, s);
    const found = await findResumable(file, { api, store, claims, protocol, holder, call: caller }, signal);
    if (found) return { record: found.record, form: null, parts: partsHeld(found.listing), resumed: true };
  }
  // A cancel may stop the wait for the network, but not the create once sent: a record the server
  // made must come back, so the cancel can abort it. Its Idempotency-Key makes a retry after a
  // lost answer return that same record instead of making a second one.
  await whenOnline(ctx, signal);
  signal.throwIfAborted();
  const { upload, ...record } = await call(ctx, (s) => api.create(file, createKey, s));
  if (upload.method === "post") return { record, form: upload, parts: null, resumed: false };
  const missing = Array.from({ length: upload.part_count }, (_, index) => index + 1);
  const parts = {
    partSize: upload.part_size,
    partCount: upload.part_count,
    missing,
    held: 0,
    etags: new Map(),
    firstParts: upload.first_parts,
  };
  return { record, form: null, parts, resumed: false };
}

/** How a part listing from the server leaves a multipart upload. */
export function partsHeld(/** @type {PartListing} */ listing) {
  return {
    partSize: listing.part_size,
    partCount: listing.part_count,
    missing: listing.missing,
    held: listing.bytes_confirmed,
    etags: new Map(listing.parts.map((part) => [part.part_number, part.etag])),
    firstParts: null,
  };
}

/**
 * Every part with its ETag, for `complete` to assemble without listing them; null unless storage
 * gave the ETag of each one.
 * @param {PartState} parts
 * @returns {PartETag[] | null}
 */
export function namedParts({ partCount, etags }) {
  const named = [];
  for (let number = 1; number <= partCount; number += 1) {
    const etag = etags.get(number);
    if (!etag) return null;
    named.push({ part_number: number, etag });
  }
  return named;
}

/**
 * Send a small file as one signed POST form, retried whole when that is worth it; its policy is
 * renewed (same record) when missing, about to expire, or refused as expired.
 * @param {File} file
 * @param {string} id
 * @param {PostUpload | null} form
 * @param {StepContext} ctx
 * @param {AbortSignal} signal
 */
export async function sendForm(file, id, form, ctx, signal) {
  const { api, postForm, retry, clock } = ctx.deps;
  let current = form;
  const authorize = async () => {
    const upload = await call(ctx, (s) => api.authorize(id, s), signal);
    if (upload.method !== "post") throw new ContractError(`a ${upload.method} authorisation for a POST upload`);
    return (current = upload);
  };
  await withRetry(
    async () => {
      const expiring = !current || Date.parse(current.expires_at) - clock.now() < POLICY_MARGIN_MS;
      const policy = current && !expiring ? current : await authorize();
      await whenOnline(ctx, signal);
      let moving = false;
      const onProgress = (/** @type {number} */ bytes) => {
        if (!moving) ctx.report({ type: "settled" }); // bytes move again: the retry note goes
        moving = true;
        ctx.report({ type: "progress", bytes });
      };
      await postForm({ url: policy.url, fields: policy.fields, file, signal, onProgress });
    },
    {
      policy: retry,
      signal,
      onRetry: ({ error, delay }) => {
        ctx.report({ type: "progress", bytes: 0 });
        ctx.report({ type: "retry", error, delay });
      },
      onRenew: async () => {
        ctx.report({ type: "renew" });
        await authorize();
      },
    },
  );
}

/**
 * Send the parts storage misses, several at a time; progress counts the bytes it already held.
 * @param {File} file
 * @param {string} id
 * @param {{partSize: number, missing: number[], held: number, firstParts: SignedParts | null}} parts
 *   (`firstParts`: URLs signed with the record, used before any are asked for)
 * @param {StepContext} ctx
 * @param {AbortSignal} signal
 */
export async function sendMissingParts(file, id, { partSize, missing, held, firstParts }, ctx, signal) {
  const { api, putPart, retry, clock, protocol, settings } = ctx.deps;
  const options = {
    sign: (/** @type {number[]} */ numbers, /** @type {AbortSignal} */ s) => api.signParts(id, numbers, s),
    maxPerSign: protocol.maxPartsPerSign,
    put: putPart,
    retry,
    now: clock.now,
    parallel: settings.parallelParts,
    urlLifetimeMs: settings.policyExpires * 1000,
    signed: firstParts,
  };
  await sendParts({ file, partSize, numbers: missing }, options, {
    signal,
    report: (event) => {
      if (event.type === "progress") ctx.report({ type: "progress", bytes: held + event.bytes });
      else if (event.type === "part") {
        ctx.report(event);
        ctx.report({ type: "settled" });
      } else if (event.type === "renew") ctx.report({ type: "renew" });
      else ctx.report({ type: "retry", error: event.error, delay: event.delay });
    },
  });
}
