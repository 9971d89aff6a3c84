// Retrying: exponential backoff with full jitter, bounded tries and renewals, Retry-After as a
// floor; and the two collaborators it waits on, the clock and the connection.
import assert from "node:assert/strict";
import { test } from "node:test";

import { sleep } from "../../uploads/static/uploads/core/clock.js";
import { ALWAYS_ONLINE, createConnectivity } from "../../uploads/static/uploads/core/connectivity.js";
import { isUnanswered } from "../../uploads/static/uploads/core/errors.js";
import { backoffDelay, retryPolicy, withRetry } from "../../uploads/static/uploads/core/retry.js";
import { browserConnectivity } from "../../uploads/static/uploads/ui/browser.js";
import { connectionLost, s3Refusal as s3 } from "./support/fake-server.mjs";
import { apiRefusal } from "./support/protocol.mjs";

/** @import { RetryPolicy } from "../../uploads/static/uploads/core/retry.js" */

const policy = (/** @type {Partial<RetryPolicy>} */ overrides = {}) => retryPolicy({ wait: async () => {}, ...overrides });

test("the delay ceiling doubles from the base up to the cap", () => {
  const top = (/** @type {number} */ attempt) => backoffDelay(attempt, { base: 100, cap: 1000, random: () => 0.999999 });
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(top), [99, 199, 399, 799, 999, 999]);
});

test("full jitter spreads delays over [0, ceiling)", () => {
  assert.equal(backoffDelay(3, { base: 100, random: () => 0 }), 0);
  assert.equal(backoffDelay(3, { base: 100, random: () => 0.5 }), 400);
  for (let attempt = 0; attempt < 12; attempt += 1) {
    const delay = backoffDelay(attempt);
    assert.ok(delay >= 0 && delay < Math.min(20_000, 500 * 2 ** attempt), `${attempt}: ${delay}`);
  }
});

test("withRetry retries until it works and reports each retry", async () => {
  /** @type {number[][]} */
  const seen = [];
  let calls = 0;
  const result = await withRetry(
    async () => {
      calls += 1;
      if (calls < 3) throw connectionLost();
      return "done";
    },
    { policy: policy({ delay: (n) => n * 10 }), onRetry: ({ attempt, delay }) => seen.push([attempt, delay]) },
  );
  assert.equal(result, "done");
  assert.deepEqual(seen, [
    [1, 0],
    [2, 10],
  ]);
});

test("withRetry gives up after the bounded number of attempts, saying how many", async () => {
  let calls = 0;
  const failing = async () => {
    calls += 1;
    throw s3(503, "SlowDown");
  };
  await assert.rejects(withRetry(failing, { policy: policy({ attempts: 6 }) }), { attempts: 6 });
  assert.equal(calls, 6);
});

test("withRetry stops at once on a final error", async () => {
  let calls = 0;
  const refused = async () => {
    calls += 1;
    throw s3(403, "AccessDenied", "Policy Condition failed");
  };
  await assert.rejects(withRetry(refused, { policy: policy() }));
  assert.equal(calls, 1);
});

test("renewals do not use up attempts, but are bounded too", async () => {
  let calls = 0;
  let renewals = 0;
  const result = await withRetry(
    async () => {
      calls += 1;
      if (calls <= 3) throw s3(403, "AccessDenied", "Request has expired");
      return "ok";
    },
    { policy: policy({ attempts: 2 }), onRenew: async () => void (renewals += 1) },
  );
  assert.equal(result, "ok");
  assert.equal(renewals, 3);

  let endless = 0;
  const expiring = async () => {
    endless += 1;
    throw s3(403, "AccessDenied", "Request has expired");
  };
  await assert.rejects(withRetry(expiring, { policy: policy({ attempts: 3, renewals: 4 }) }));
  assert.equal(endless, 4 + 3); // four renewals, then three counted failures
});

test("a Retry-After from the server is a floor for the delay", async () => {
  /** @type {number[]} */
  const delays = [];
  let calls = 0;
  await withRetry(
    async () => {
      calls += 1;
      if (calls === 1) throw apiRefusal(429, { detail: "Slow down.", code: "throttled" }, { "Retry-After": "2" });
    },
    { policy: policy({ delay: () => 5 }), onRetry: ({ delay }) => delays.push(delay) },
  );
  assert.deepEqual(delays, [2000]);
});

test("shouldRetry can veto repeating an unsafe request", async () => {
  let calls = 0;
  const unanswered = async () => {
    calls += 1;
    throw apiRefusal(0);
  };
  await assert.rejects(withRetry(unanswered, { policy: policy(), shouldRetry: (error) => !isUnanswered(error) }));
  assert.equal(calls, 1);
});

test("an aborted signal stops the retries", async () => {
  const controller = new AbortController();
  let calls = 0;
  const failing = async () => {
    calls += 1;
    controller.abort();
    throw connectionLost();
  };
  await assert.rejects(withRetry(failing, { policy: retryPolicy({ clock: { now: Date.now, sleep } }), signal: controller.signal }), {
    name: "AbortError",
  });
  assert.equal(calls, 1);
});

test("sleep rejects at once when aborted", async () => {
  const controller = new AbortController();
  const waiting = sleep(60_000, controller.signal);
  controller.abort();
  await assert.rejects(waiting, { name: "AbortError" });
});

test("while the browser is offline, a retry waits for the connection to come back", async () => {
  // A window, as far as its connection goes: navigator.onLine and the "online" event.
  const navigator = { onLine: false };
  const target = Object.assign(new EventTarget(), { navigator });
  const connectivity = browserConnectivity(/** @type {Window} */ (/** @type {unknown} */ (target)));
  const { wait } = retryPolicy({ clock: { now: () => 0, sleep: async () => {} }, connectivity });
  let resumed = false;
  const waiting = wait(0).then(() => (resumed = true));
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(resumed, false);
  assert.equal(connectivity.isOffline(), true);
  navigator.onLine = true;
  target.dispatchEvent(new Event("online"));
  await waiting;
  assert.equal(resumed, true);

  const controller = new AbortController();
  navigator.onLine = false;
  const stopped = wait(0, controller.signal);
  await new Promise((resolve) => setTimeout(resolve, 5));
  controller.abort();
  await assert.rejects(stopped, { name: "AbortError" });
  // Given no connectivity (outside a browser), the network counts as there.
  assert.equal(ALWAYS_ONLINE.isOffline(), false);
  await ALWAYS_ONLINE.whenOnline();
  assert.equal(createConnectivity({ isOffline: () => false, target: new EventTarget() }).isOffline(), false);
});
