// @ts-check
// Sending a file's missing parts in parallel. URLs are signed on demand in small batches and
// renewed near expiry; each part is exactly the slice the server signed, retried on its own; one
// failure (or a pause or cancel) stops them all.

import { MAX_PART_NUMBERS } from "./api.js";
import { abortError, isAbort } from "./errors.js";
import { withRetry } from "./retry.js";

/** @import { SignedParts } from "./answers.js" */
/** @import { RetryPolicy } from "./retry.js" */
/** @import { PutSender } from "./transfer.js" */

/**
 * @typedef {object} PartSenderOptions
 * @property {(partNumbers: number[], signal: AbortSignal) => Promise<SignedParts>} sign the API's parts/ call
 * @property {PutSender} put
 * @property {RetryPolicy} retry
 * @property {() => number} now the client's clock, in milliseconds
 * @property {number} parallel parts in flight at once
 * @property {number} urlLifetimeMs how long a part URL lives (the page config's policyExpires)
 * @property {number} [batch] URLs asked for per call (default twice `parallel`, at most the API's limit)
 */

/**
 * What the sender reports: bytes of this send so far (parts in flight included), a part storage
 * now holds (with its signed size), a retry, a renewal.
 * @typedef {{type: "progress", bytes: number}
 *   | {type: "part", number: number, size: number}
 *   | {type: "retry", part: number, error: unknown, attempt: number, delay: number}
 *   | {type: "renew", part: number}} PartEvent
 */

/**
 * @typedef {object} PartJob
 * @property {Blob} file
 * @property {number} partSize the server's part_size: part n starts at (n-1)·partSize
 * @property {readonly number[]} numbers the parts storage does not hold yet
 */

/** @typedef {{url: string, size: number, expiresAt: number, signedAt: number}} SignedUrl */

/**
 * Send `job.numbers` of `job.file`; resolves once storage holds every one of them.
 * @param {PartJob} job
 * @param {PartSenderOptions} options
 * @param {{signal: AbortSignal, report: (event: PartEvent) => void}} run
 */
export async function sendParts({ file, partSize, numbers }, options, { signal, report }) {
  const { sign, put, retry, now, parallel, urlLifetimeMs } = options;
  const batchSize = Math.min(options.batch ?? parallel * 2, MAX_PART_NUMBERS);
  const waiting = [...numbers];
  /** @type {Map<number, SignedUrl>} client clock */
  const urls = new Map();
  /** @type {Map<number, number>} part number → bytes sent (finished parts hold their full size) */
  const sent = new Map();
  /** @type {Promise<void> | null} the one sign request in flight, so parallel parts share batches */
  let signing = null;

  // One failing part stops the others: their PUTs are aborted along with the caller's signal.
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  if (signal.aborted) throw abortError();
  signal.addEventListener("abort", onOuterAbort, { once: true });

  const progress = () => report({ type: "progress", bytes: [...sent.values()].reduce((sum, bytes) => sum + bytes, 0) });

  /** A URL is fresh while a quarter of its life (at most 10 s) remains, so slow starts still fit. */
  const fresh = (/** @type {SignedUrl | undefined} */ entry) =>
    entry !== undefined && entry.expiresAt - now() > Math.min(10_000, (entry.expiresAt - entry.signedAt) / 4);

  /** Sign URLs for `number` and the next waiting parts that lack a fresh one. */
  async function signBatch(/** @type {number} */ number) {
    const batch = [number];
    for (const next of waiting) {
      if (batch.length >= batchSize) break;
      if (!fresh(urls.get(next))) batch.push(next);
    }
    const signedAt = now();
    const answer = await sign(batch, stop.signal);
    let expiresAt = Date.parse(answer.expires_at);
    // A client clock far from the server's would make URLs look stale (clock ahead) or fresh for
    // hours (clock behind): then count the known lifetime from now instead.
    const lifetime = expiresAt - signedAt;
    if (!(lifetime > 2_000 && lifetime <= urlLifetimeMs)) expiresAt = signedAt + urlLifetimeMs;
    for (const part of answer.parts) urls.set(part.part_number, { url: part.url, size: part.size, expiresAt, signedAt });
  }

  /** A fresh signed URL for `number`, waiting for a sign request already under way first. */
  async function urlFor(/** @type {number} */ number) {
    for (;;) {
      const entry = urls.get(number);
      if (entry && fresh(entry)) return entry;
      if (signing) {
        // Its batch may well cover this part; if not, the next turn signs a batch of our own.
        await signing.catch(() => {});
        continue;
      }
      signing = signBatch(number).finally(() => {
        signing = null;
      });
      await signing;
      if (!urls.has(number)) throw new Error(`The server did not sign part ${number}.`);
    }
  }

  async function sendOne(/** @type {number} */ number) {
    const size = await withRetry(
      async () => {
        const { url, size } = await urlFor(number);
        sent.set(number, 0);
        // The server pins each URL to its part's exact length: send that slice and no other.
        const start = (number - 1) * partSize;
        const body = file.slice(start, start + size);
        const onProgress = (/** @type {number} */ bytes) => {
          sent.set(number, Math.min(bytes, size));
          progress();
        };
        await put({ url, body, signal: stop.signal, onProgress });
        return size;
      },
      {
        policy: retry,
        signal: stop.signal,
        onRetry: (info) => {
          sent.set(number, 0);
          progress();
          report({ type: "retry", part: number, ...info });
        },
        onRenew: () => {
          // Storage said the signature expired: forget the URL; the next try signs a fresh one.
          urls.delete(number);
          sent.set(number, 0);
          progress();
          report({ type: "renew", part: number });
        },
      },
    );
    sent.set(number, size);
    progress();
    report({ type: "part", number, size });
  }

  /** @type {unknown} */
  let firstError = null;
  async function worker() {
    while (waiting.length && !stop.signal.aborted) {
      const number = /** @type {number} */ (waiting.shift());
      try {
        await sendOne(number);
      } catch (error) {
        if (firstError === null || (isAbort(firstError) && !isAbort(error))) firstError = error;
        stop.abort();
        return;
      }
    }
  }

  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, waiting.length)) }, worker));
    if (signal.aborted) throw abortError();
    if (firstError !== null) throw firstError;
  } finally {
    signal.removeEventListener("abort", onOuterAbort);
  }
}
