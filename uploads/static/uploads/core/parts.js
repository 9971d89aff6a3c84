// @ts-check
// Sending a file's missing parts in parallel. URLs are signed on demand in batches, the next one
// while parts are still in flight (so no part waits for a signature), larger on a fast link, and
// renewed near expiry; each part is exactly the slice the server signed, retried on its own; one
// failure (or a pause or cancel) stops them all.

import { abortError, isAbort } from "./errors.js";
import { withRetry } from "./retry.js";

/** @import { SignedParts } from "./answers.js" */
/** @import { RetryPolicy } from "./retry.js" */
/** @import { PutSender } from "./transfer.js" */

/**
 * @typedef {object} PartSenderOptions
 * @property {(partNumbers: number[], signal: AbortSignal) => Promise<SignedParts>} sign the API's parts/ call
 * @property {number} maxPerSign part numbers the API signs per call at most (the protocol's limit)
 * @property {PutSender} put
 * @property {RetryPolicy} retry
 * @property {() => number} now the client's clock, in milliseconds
 * @property {number} parallel parts in flight at once
 * @property {number} urlLifetimeMs how long a part URL lives (the page config's policyExpires)
 * @property {number} [batch] URLs asked for per call at first (default twice `parallel`, at most
 *   `maxPerSign`); later calls ask for more on a fast link: as many parts as go up in half a URL's
 *   life at the pace so far
 * @property {SignedParts | null} [signed] URLs the server has just signed (with the record): used
 *   first, before any are asked for
 */

/**
 * What the sender reports: bytes of this send so far (parts in flight included), a part storage
 * now holds (with its signed size), a retry, a renewal.
 * @typedef {{type: "progress", bytes: number}
 *   | {type: "part", number: number, size: number, etag: string}
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
 * Bytes in flight are reported at most this often (a part that ends, a retry or a renewal is
 * reported at once). Each XHR says where it is ~20 times a second, so parallel parts would have
 * the page redraw every frame: work the browser would rather spend on sending the bytes.
 */
const PROGRESS_EVERY_MS = 200;

/**
 * Send `job.numbers` of `job.file`; resolves once storage holds every one of them.
 * @param {PartJob} job
 * @param {PartSenderOptions} options
 * @param {{signal: AbortSignal, report: (event: PartEvent) => void}} run
 */
export async function sendParts({ file, partSize, numbers }, options, { signal, report }) {
  const { sign, put, retry, now, parallel, urlLifetimeMs, maxPerSign } = options;
  const firstBatch = Math.min(options.batch ?? parallel * 2, maxPerSign);
  const waiting = [...numbers];
  /** @type {Map<number, SignedUrl>} client clock */
  const urls = new Map();
  /** @type {Map<number, number>} part number → bytes sent, for the parts in flight */
  const sending = new Map();
  let finishedBytes = 0; // of the parts this send has finished
  let finishedParts = 0;
  const startedAt = now();
  /** @type {Promise<void> | null} the one sign request in flight, so parallel parts share batches */
  let signing = null;

  // One failing part stops the others: their PUTs are aborted along with the caller's signal.
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  if (signal.aborted) throw abortError();
  if (options.signed) keep(options.signed, startedAt);
  signal.addEventListener("abort", onOuterAbort, { once: true });

  let reportedAt = -Infinity;
  /** Report the bytes sent so far: at once (`now`), or if the last report is old enough. */
  const progress = (/** @type {"now" | "soon"} */ when = "now") => {
    const time = now();
    if (when === "soon" && time - reportedAt < PROGRESS_EVERY_MS && time >= reportedAt) return;
    reportedAt = time;
    let bytes = finishedBytes;
    for (const inFlight of sending.values()) bytes += inFlight;
    report({ type: "progress", bytes });
  };

  /** A URL is fresh while a quarter of its life (at most 10 s) remains, so slow starts still fit. */
  const fresh = (/** @type {SignedUrl | undefined} */ entry) =>
    entry !== undefined && entry.expiresAt - now() > Math.min(10_000, (entry.expiresAt - entry.signedAt) / 4);

  /**
   * How many URLs to ask for: the first batch, or more on a fast link (as many parts as go up in
   * half a URL's life at the pace so far), so a fast upload makes few sign calls; never more than
   * the API signs at once.
   */
  function batchSize() {
    const elapsed = now() - startedAt;
    if (!finishedParts || !(elapsed > 0)) return firstBatch;
    const expected = Math.ceil((finishedParts / elapsed) * (urlLifetimeMs / 2));
    return Math.max(firstBatch, Math.min(maxPerSign, expected));
  }

  /** Sign URLs for `number` and the next waiting parts that lack a fresh one. */
  async function signBatch(/** @type {number} */ number) {
    const size = batchSize();
    const batch = [number];
    for (const next of waiting) {
      if (batch.length >= size) break;
      if (next !== number && !fresh(urls.get(next))) batch.push(next);
    }
    const signedAt = now();
    keep(await sign(batch, stop.signal), signedAt);
  }

  /** Hold on to URLs the server signed at `signedAt` (client clock). */
  function keep(/** @type {SignedParts} */ answer, /** @type {number} */ signedAt) {
    let expiresAt = Date.parse(answer.expires_at);
    // A client clock far from the server's would make URLs look stale (clock ahead) or fresh for
    // hours (clock behind): then count the known lifetime from now instead.
    const lifetime = expiresAt - signedAt;
    if (!(lifetime > 2_000 && lifetime <= urlLifetimeMs)) expiresAt = signedAt + urlLifetimeMs;
    for (const part of answer.parts) urls.set(part.part_number, { url: part.url, size: part.size, expiresAt, signedAt });
  }

  /**
   * While parts are in flight, sign the next batch if one of the parts that start next has no
   * fresh URL, so no part waits for a sign request (its answer comes back long before a part
   * finishes). A failure here is left for the part that needs the URL, which asks again and
   * retries as usual.
   */
  function signAhead() {
    if (signing || stop.signal.aborted) return;
    const upcoming = waiting.slice(0, parallel).find((next) => !fresh(urls.get(next)));
    if (upcoming === undefined) return;
    const ahead = signBatch(upcoming).finally(() => {
      if (signing === ahead) signing = null;
    });
    signing = ahead;
    ahead.catch(() => {});
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
    const { size, etag } = await withRetry(
      async () => {
        const { url, size } = await urlFor(number);
        sending.set(number, 0);
        signAhead();
        // The server pins each URL to its part's exact length: send that slice and no other.
        const start = (number - 1) * partSize;
        const body = file.slice(start, start + size);
        const onProgress = (/** @type {number} */ bytes) => {
          sending.set(number, Math.min(bytes, size));
          progress("soon");
        };
        const etag = await put({ url, body, signal: stop.signal, onProgress });
        return { size, etag };
      },
      {
        policy: retry,
        signal: stop.signal,
        onRetry: (info) => {
          sending.set(number, 0);
          progress();
          report({ type: "retry", part: number, ...info });
        },
        onRenew: () => {
          // Storage said the signature expired: forget the URL; the next try signs a fresh one.
          urls.delete(number);
          sending.set(number, 0);
          progress();
          report({ type: "renew", part: number });
        },
      },
    );
    sending.delete(number);
    finishedBytes += size;
    finishedParts += 1;
    progress();
    report({ type: "part", number, size, etag });
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
