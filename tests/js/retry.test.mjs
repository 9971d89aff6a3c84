// Unit tests for retry decisions and exponential backoff with full jitter.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError } from "../../uploads/static/uploads/api.js";
import {
  backoffDelay,
  classify,
  isExpired,
  sleep,
  withRetry,
} from "../../uploads/static/uploads/retry.js";
import { storageError, TransferError } from "../../uploads/static/uploads/transfer.js";

const s3 = (status, code, message) =>
  storageError(status, `<Error><Code>${code}</Code><Message>${message}</Message></Error>`);

test("the delay ceiling doubles from the base up to the cap", () => {
  const top = (attempt) => backoffDelay(attempt, { base: 100, cap: 1000, random: () => 0.999999 });
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

test("network errors, 5xx, 408 and 429 are retried", () => {
  assert.equal(classify(new TransferError("lost")), "retry");
  assert.equal(classify(s3(503, "SlowDown", "Reduce your request rate")), "retry");
  assert.equal(classify(s3(500, "InternalError", "")), "retry");
  assert.equal(classify(new ApiError(0, null)), "retry");
  assert.equal(classify(new ApiError(408, null)), "retry");
  assert.equal(classify(new ApiError(429, { detail: "Slow down." })), "retry");
  assert.equal(classify(new ApiError(503, { detail: "Storage is down." })), "retry");
  assert.equal(classify(s3(400, "RequestTimeout", "Your socket connection timed out")), "retry");
});

test("other 4xx answers are not retried blindly", () => {
  assert.equal(classify(s3(403, "AccessDenied", "Invalid according to Policy: Policy Condition failed")), "fatal");
  assert.equal(classify(s3(403, "SignatureDoesNotMatch", "")), "fatal");
  assert.equal(classify(s3(400, "EntityTooSmall", "")), "fatal");
  assert.equal(classify(new ApiError(400, { size: ["Too big."] })), "fatal");
  assert.equal(classify(new ApiError(409, { detail: "Cancelled.", status: "aborted" })), "fatal");
  assert.equal(classify(new Error("a bug")), "fatal");
  // The app's JSON 502 is S3 refusing the server (set-up); a bare 502 is a proxy during a restart.
  assert.equal(classify(new ApiError(502, { detail: "The storage service refused the request." })), "fatal");
  assert.equal(classify(new ApiError(502, null)), "retry");
});

test("an expired signature or policy is renewed, not counted as a failure", () => {
  assert.ok(isExpired(s3(403, "AccessDenied", "Request has expired")));
  assert.ok(isExpired(s3(403, "AccessDenied", "Invalid according to Policy: Policy expired.")));
  assert.ok(isExpired(s3(400, "ExpiredToken", "")));
  assert.equal(classify(s3(403, "AccessDenied", "Request has expired")), "renew");
  // The API's 403 (a lost session) is no S3 expiry.
  assert.equal(isExpired(new ApiError(403, { detail: "Your token has expired." })), false);
  assert.equal(isExpired(s3(403, "AccessDenied", "Access Denied")), false);
});

test("pause and cancel are aborts, never failures", () => {
  assert.equal(classify(new TransferError("stopped", { code: "Aborted" })), "abort");
  const error = new Error("x");
  error.name = "AbortError";
  assert.equal(classify(error), "abort");
});

const noWait = async () => {};

test("withRetry retries until it works and reports each retry", async () => {
  const seen = [];
  let calls = 0;
  const result = await withRetry(
    async () => {
      calls += 1;
      if (calls < 3) throw new TransferError("lost");
      return "done";
    },
    { wait: noWait, delay: (n) => n * 10, onRetry: ({ attempt, delay }) => seen.push([attempt, delay]) },
  );
  assert.equal(result, "done");
  assert.deepEqual(seen, [[1, 0], [2, 10]]);
});

test("withRetry gives up after the bounded number of attempts", async () => {
  let calls = 0;
  const failing = async () => {
    calls += 1;
    throw s3(503, "SlowDown", "");
  };
  await assert.rejects(withRetry(failing, { attempts: 6, wait: noWait }), (error) => error.attempts === 6);
  assert.equal(calls, 6);
});

test("withRetry stops at once on a fatal error", async () => {
  let calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls += 1;
        throw s3(403, "AccessDenied", "Policy Condition failed");
      },
      { wait: noWait },
    ),
  );
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
    { attempts: 2, wait: noWait, onRenew: async () => (renewals += 1) },
  );
  assert.equal(result, "ok");
  assert.equal(renewals, 3);

  let endless = 0;
  await assert.rejects(
    withRetry(
      async () => {
        endless += 1;
        throw s3(403, "AccessDenied", "Request has expired");
      },
      { attempts: 3, renewals: 4, wait: noWait },
    ),
  );
  assert.equal(endless, 4 + 3); // four renewals, then three counted failures
});

test("a Retry-After from the server is a floor for the delay", async () => {
  const delays = [];
  let calls = 0;
  await withRetry(
    async () => {
      calls += 1;
      if (calls === 1) throw new ApiError(429, null, { retryAfterMs: 2000 });
    },
    { wait: noWait, delay: () => 5, onRetry: ({ delay }) => delays.push(delay) },
  );
  assert.deepEqual(delays, [2000]);
});

test("shouldRetry can veto repeating an unsafe request", async () => {
  let calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls += 1;
        throw new ApiError(0, null);
      },
      { wait: noWait, shouldRetry: (error) => error.status !== 0 },
    ),
  );
  assert.equal(calls, 1);
});

test("sleep rejects at once when aborted", async () => {
  const controller = new AbortController();
  const waiting = sleep(60_000, controller.signal);
  controller.abort();
  await assert.rejects(waiting, { name: "AbortError" });
});

test("while the browser is offline, a retry waits for the connection to come back", async () => {
  const { sleepUntilOnline } = await import("../../uploads/static/uploads/retry.js");
  const target = new EventTarget();
  target.navigator = { onLine: false };
  let resumed = false;
  const waiting = sleepUntilOnline(0, undefined, target).then(() => (resumed = true));
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(resumed, false);
  target.navigator.onLine = true;
  target.dispatchEvent(new Event("online"));
  await waiting;
  assert.equal(resumed, true);

  const controller = new AbortController();
  target.navigator.onLine = false;
  const stopped = sleepUntilOnline(0, controller.signal, target);
  await new Promise((resolve) => setTimeout(resolve, 5));
  controller.abort();
  await assert.rejects(stopped, { name: "AbortError" });
});
