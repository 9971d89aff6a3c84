// Sending a file's missing parts in parallel: URLs signed on demand in small batches and renewed
// near expiry, each part retried on its own, everything stopped at once on pause, cancel or failure.

import { partBounds, partSize } from "./plan.js";
import { abortError, isAbort, sleep, withRetry } from "./retry.js";

/** The API signs at most this many part URLs per call. */
export const MAX_SIGN_BATCH = 100;

/**
 * Upload the parts `numbers` of `file` following `plan`; resolves once S3 holds every one of them.
 *
 * - signParts(numbers, signal) → {parts: [{part_number, url}], expires_at}  (the API call)
 * - putPart({url, body, onProgress, signal})                                 (the XHR PUT)
 * - onProgress(bytes): bytes of `numbers` sent so far (finished parts plus parts in flight)
 * - onPartDone(number), onRetry({part, error, attempt, delay}), onRenew({part})
 */
export async function uploadParts({
  file,
  plan,
  numbers,
  signParts,
  putPart,
  parallel = 4,
  signBatch = parallel * 2,
  attempts,
  signal,
  onProgress = () => {},
  onPartDone = () => {},
  onRetry = () => {},
  onRenew = () => {},
  now = Date.now,
  wait = sleep,
  delay,
  urlLifetimeMs = 60_000,
}) {
  const waiting = [...numbers];
  const urls = new Map(); // part number → {url, expiresAt, signedAt} (client clock)
  const sent = new Map(); // part number → bytes sent (finished parts hold their full size)
  let signing = null; // the one sign request in flight, so parallel parts share batches

  // One failing part stops the others: their XHRs are aborted along with the caller's signal.
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  if (signal?.aborted) throw abortError();
  signal?.addEventListener("abort", onOuterAbort, { once: true });

  const report = () => onProgress([...sent.values()].reduce((sum, bytes) => sum + bytes, 0));

  /** A URL is fresh while a quarter of its life (at most 10 s) remains, so slow starts still fit. */
  const fresh = (entry) => {
    if (!entry) return false;
    const margin = Math.min(10_000, (entry.expiresAt - entry.signedAt) / 4);
    return entry.expiresAt - now() > margin;
  };

  /** Sign URLs for `number` and the next waiting parts that lack a fresh one. */
  async function sign(number) {
    const batch = [number];
    for (const next of waiting) {
      if (batch.length >= Math.min(signBatch, MAX_SIGN_BATCH)) break;
      if (!fresh(urls.get(next))) batch.push(next);
    }
    const signedAt = now();
    const answer = await signParts(batch, stop.signal);
    let expiresAt = Date.parse(answer.expires_at);
    // A client clock far from the server's would make URLs look stale (clock ahead) or fresh for
    // hours (clock behind): then count the known lifetime from now instead.
    const lifetime = expiresAt - signedAt;
    if (!(lifetime > 2_000 && lifetime <= urlLifetimeMs)) expiresAt = signedAt + urlLifetimeMs;
    for (const part of answer.parts) urls.set(part.part_number, { url: part.url, expiresAt, signedAt });
  }

  /** Return a fresh URL for `number`, waiting for a sign request already under way first. */
  async function urlFor(number) {
    for (;;) {
      if (fresh(urls.get(number))) return urls.get(number).url;
      if (signing) {
        // Its batch may well cover this part; if not, the next turn signs a batch of our own.
        await signing.catch(() => {});
        continue;
      }
      signing = sign(number).finally(() => {
        signing = null;
      });
      await signing;
      if (!urls.has(number)) throw new Error(`The server did not sign part ${number}.`);
    }
  }

  async function uploadOne(number) {
    const { start, end } = partBounds(plan, number);
    await withRetry(
      async () => {
        const url = await urlFor(number);
        sent.set(number, 0);
        await putPart({
          url,
          body: file.slice(start, end),
          signal: stop.signal,
          onProgress: (bytes) => {
            sent.set(number, bytes);
            report();
          },
        });
      },
      {
        attempts,
        signal: stop.signal,
        wait,
        ...(delay ? { delay } : {}),
        onRetry: (info) => {
          sent.set(number, 0);
          report();
          onRetry({ part: number, ...info });
        },
        onRenew: async () => {
          // S3 said the signature expired: forget the URL; the next try signs a fresh one.
          urls.delete(number);
          sent.set(number, 0);
          report();
          onRenew({ part: number });
        },
      },
    );
    sent.set(number, partSize(plan, number));
    report();
    onPartDone(number);
  }

  let firstError = null;
  async function worker() {
    while (waiting.length && !stop.signal.aborted) {
      const number = waiting.shift();
      try {
        await uploadOne(number);
      } catch (error) {
        if (!firstError || (isAbort(firstError) && !isAbort(error))) firstError = error;
        stop.abort();
        return;
      }
    }
  }

  try {
    const workers = Array.from({ length: Math.max(1, Math.min(parallel, waiting.length)) }, worker);
    await Promise.all(workers);
    if (signal?.aborted) throw abortError();
    if (firstError) throw firstError;
  } finally {
    signal?.removeEventListener("abort", onOuterAbort);
  }
}
