// When and how long to wait before trying a request again: exponential backoff with full jitter.

/** Attempts per request, the first one included. */
export const DEFAULT_ATTEMPTS = 6;
/** URL renewals per request: renewing is not a failure, but a clock far off would renew forever. */
export const DEFAULT_RENEWALS = 4;

// 408 Request Timeout and 429 Too Many Requests say "try later"; so does every 5xx.
const RETRY_STATUSES = new Set([408, 429]);
// S3 codes that mean "send it again": RequestTimeout comes as a 400 when an upload stalls.
const RETRY_CODES = new Set(["RequestTimeout", "SlowDown", "InternalError", "ServiceUnavailable"]);
// S3 codes for a signature that is no longer valid; a fresh URL fixes them.
const EXPIRED_CODES = new Set(["ExpiredToken", "RequestExpired", "TokenRefreshRequired"]);

/**
 * Delay before retry number `attempt` (0-based): uniform in [0, min(cap, base·2^attempt)).
 * Full jitter spreads many clients' retries apart (AWS Architecture Blog, "Exponential Backoff And Jitter").
 */
export function backoffDelay(attempt, { base = 500, cap = 20_000, random = Math.random } = {}) {
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

/** Tell whether an error is an abort (pause or cancel), never a failure. */
export function isAbort(error) {
  return error?.name === "AbortError" || error?.code === "Aborted";
}

/** Tell whether S3 refused a signed request because its signature or policy expired. */
export function isExpired(error) {
  if (error?.source !== "storage") return false;
  if (error.status !== 403 && error.status !== 400) return false;
  if (EXPIRED_CODES.has(error.code)) return true;
  // AWS answers 403 AccessDenied, "Request has expired" for URLs and
  // "Invalid according to Policy: Policy expired." for POST forms.
  return error.code === "AccessDenied" && /expired/i.test(error.detail || "");
}

/** Sort an error into "abort", "renew" (re-sign, then retry), "retry" (after a delay) or "fatal". */
export function classify(error) {
  if (isAbort(error)) return "abort";
  if (isExpired(error)) return "renew";
  const status = Number(error?.status);
  if (!Number.isFinite(status)) return "fatal";
  // The app's own 502 (JSON) means S3 refused the server's request, a set-up problem; a proxy's
  // 502 (no JSON body) while the app restarts is worth another try.
  if (error.source === "api" && status === 502 && typeof error.body?.detail === "string") return "fatal";
  if (status === 0 || status >= 500 || RETRY_STATUSES.has(status)) return "retry";
  if (RETRY_CODES.has(error?.code)) return "retry";
  return "fatal";
}

/** An AbortError like fetch's, for code that must stop waiting. */
export function abortError() {
  const error = new Error("The operation was aborted.");
  error.name = "AbortError";
  return error;
}

/** Wait `ms` milliseconds, or reject with an AbortError as soon as `signal` aborts. */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clearTimeout(timer);
      reject(abortError());
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Tell whether the browser knows it has no network (never true outside a browser). */
export function isOffline(target = globalThis) {
  return target.navigator?.onLine === false;
}

/** Resolve at once when online, else when the browser's "online" event fires (or reject on abort). */
export function waitUntilOnline(signal, target = globalThis) {
  if (!isOffline(target)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      target.removeEventListener("online", done);
      signal?.removeEventListener("abort", stop);
      resolve();
    };
    const stop = () => {
      target.removeEventListener("online", done);
      reject(abortError());
    };
    target.addEventListener("online", done, { once: true });
    signal?.addEventListener("abort", stop, { once: true });
  });
}

/** Wait `ms`, then until the browser is online: retries made offline would only use up attempts. */
export async function sleepUntilOnline(ms, signal, target = globalThis) {
  await sleep(ms, signal);
  await waitUntilOnline(signal, target);
}

/**
 * Run `operation` until it succeeds, retrying what `classify` calls "retry" after a backoff delay and
 * calling `onRenew` (then trying at once) for "renew". `shouldRetry` can veto a retry (a request that
 * is not safe to repeat). Gives up after `attempts` failed tries, setting `error.attempts` on the error.
 */
export async function withRetry(
  operation,
  {
    attempts = DEFAULT_ATTEMPTS,
    renewals = DEFAULT_RENEWALS,
    signal,
    delay = backoffDelay,
    wait = sleep,
    shouldRetry = () => true,
    onRetry = () => {},
    onRenew = async () => {},
  } = {},
) {
  let failures = 0;
  let renewed = 0;
  for (;;) {
    if (signal?.aborted) throw abortError();
    try {
      return await operation({ failures, renewed });
    } catch (error) {
      const kind = classify(error);
      if (kind === "renew" && renewed < renewals) {
        renewed += 1;
        await onRenew(error);
        continue;
      }
      if (kind !== "retry" && kind !== "renew") throw error;
      if (!shouldRetry(error)) throw error;
      failures += 1;
      if (failures >= attempts) {
        if (error && typeof error === "object") error.attempts = failures;
        throw error;
      }
      // A server's Retry-After is a floor: jitter never makes us come back sooner than asked.
      const ms = Math.max(delay(failures - 1), error?.retryAfterMs || 0);
      onRetry({ error, attempt: failures, delay: ms });
      await wait(ms, signal);
    }
  }
}
