// @ts-check
// Trying a request again: exponential backoff with full jitter, renewals that cost no attempt,
// and a bounded number of tries. What is worth retrying is the protocol's call, carried by each
// error (errors.js).

import { classify, noteAttempts, retryAfterMs } from "./errors.js";

/** @import { Clock } from "./clock.js" */
/** @import { Connectivity } from "./connectivity.js" */

/**
 * @typedef {object} RetryPolicy
 * @property {number} attempts tries per request, the first one included
 * @property {number} renewals fresh signatures per request: renewing is no failure, but a clock
 *   far off would renew forever
 * @property {(failures: number) => number} delay milliseconds before retry number `failures` (0-based)
 * @property {(ms: number, signal?: AbortSignal) => Promise<void>} wait
 */

/** @typedef {{error: unknown, attempt: number, delay: number}} RetryInfo */

/**
 * Delay before retry number `attempt` (0-based): uniform in [0, min(cap, base·2^attempt)).
 * Full jitter spreads many clients' retries apart (AWS Architecture Blog, "Exponential Backoff And Jitter").
 * @param {number} attempt
 * @param {{base?: number, cap?: number, random?: () => number}} [options]
 */
export function backoffDelay(attempt, { base = 500, cap = 20_000, random = Math.random } = {}) {
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

/**
 * A retry policy: six tries, four renewals, backoff with jitter; waits on `clock`, then until
 * `connectivity` is back (retries made offline would only use up attempts). `overrides` win.
 * @param {{clock?: Clock, connectivity?: Connectivity} & Partial<RetryPolicy>} [options]
 * @returns {RetryPolicy}
 */
export function retryPolicy({ clock, connectivity, ...overrides } = {}) {
  return {
    attempts: 6,
    renewals: 4,
    delay: (failures) => backoffDelay(failures),
    wait: async (ms, signal) => {
      if (clock) await clock.sleep(ms, signal);
      if (connectivity) await connectivity.whenOnline(signal);
    },
    ...overrides,
  };
}

/**
 * Run `operation` until it succeeds, retrying what classify() calls "retry" after the policy's
 * delay and calling `onRenew` (then trying at once) for "renew". `shouldRetry` can veto a retry (a
 * request that is not safe to repeat). After `policy.attempts` failed tries the error is thrown,
 * carrying the number of tries.
 * @template T
 * @param {() => Promise<T>} operation
 * @param {{policy: RetryPolicy, signal?: AbortSignal, shouldRetry?: (error: unknown) => boolean,
 *   onRetry?: (info: RetryInfo) => void, onRenew?: (error: unknown) => Promise<void> | void}} options
 * @returns {Promise<T>}
 */
export async function withRetry(operation, { policy, signal, shouldRetry = () => true, onRetry, onRenew }) {
  let failures = 0;
  let renewed = 0;
  for (;;) {
    signal?.throwIfAborted();
    try {
      return await operation();
    } catch (error) {
      const kind = classify(error);
      if (kind === "renew" && renewed < policy.renewals) {
        renewed += 1;
        await onRenew?.(error);
        continue;
      }
      if ((kind !== "retry" && kind !== "renew") || !shouldRetry(error)) throw error;
      failures += 1;
      if (failures >= policy.attempts) throw noteAttempts(error, failures);
      // A server's Retry-After is a floor: jitter never brings us back sooner than asked.
      const delay = Math.max(policy.delay(failures - 1), retryAfterMs(error));
      onRetry?.({ error, attempt: failures, delay });
      await policy.wait(delay, signal);
    }
  }
}
