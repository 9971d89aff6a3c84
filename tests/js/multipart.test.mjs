// Unit tests for sending parts in parallel: batching, concurrency, renewal, retries, pause and failure.
import assert from "node:assert/strict";
import { test } from "node:test";

import { uploadParts } from "../../uploads/static/uploads/multipart.js";
import { planParts } from "../../uploads/static/uploads/plan.js";
import { storageError, TransferError } from "../../uploads/static/uploads/transfer.js";

const noWait = async () => {};
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A 23-byte file in 5-byte parts (5,5,5,5,3), whose bytes say where they come from. */
function smallFile() {
  const bytes = new Uint8Array(23).map((_, index) => index);
  return new Blob([bytes]);
}

/** A fake API and S3: signs URLs "u<part>#<signing>", and PUTs that settle on a later tick. */
function fakeStorage({ lifetimeMs = 60_000, now = () => 0, failures = {} } = {}) {
  const state = { signCalls: [], puts: [], inFlight: 0, maxInFlight: 0, signings: 0, stored: new Map() };
  state.signParts = async (numbers) => {
    state.signCalls.push([...numbers]);
    state.signings += 1;
    const signing = state.signings;
    return {
      expires_at: new Date(now() + lifetimeMs).toISOString(),
      parts: numbers.map((number) => ({ part_number: number, url: `u${number}#${signing}`, size: 0 })),
    };
  };
  state.putPart = async ({ url, body, onProgress, signal }) => {
    const number = Number(url.slice(1, url.indexOf("#")));
    state.puts.push(url);
    state.inFlight += 1;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    try {
      onProgress(Math.floor(body.size / 2));
      await tick();
      if (signal.aborted) throw new TransferError("stopped", { code: "Aborted" });
      const planned = failures[number]?.shift();
      if (planned) throw planned(url);
      state.stored.set(number, new Uint8Array(await body.arrayBuffer()));
      onProgress(body.size);
    } finally {
      state.inFlight -= 1;
    }
  };
  return state;
}

test("every given part is sent once, with its own bytes, a few at a time", async () => {
  const plan = planParts(23, 5);
  const s3 = fakeStorage();
  const done = [];
  const progress = [];
  await uploadParts({
    file: smallFile(),
    plan,
    numbers: [1, 2, 3, 4, 5],
    signParts: s3.signParts,
    putPart: s3.putPart,
    parallel: 2,
    onPartDone: (number) => done.push(number),
    onProgress: (bytes) => progress.push(bytes),
  });
  assert.deepEqual([...done].sort(), [1, 2, 3, 4, 5]);
  assert.equal(s3.puts.length, 5);
  assert.equal(s3.maxInFlight, 2);
  assert.deepEqual([...s3.stored.get(5)], [20, 21, 22]);
  assert.deepEqual([...s3.stored.get(2)], [5, 6, 7, 8, 9]);
  assert.equal(progress.at(-1), 23);
  // Signed on demand: the first batch covers 2×parallel parts, never the whole file at once.
  assert.deepEqual(s3.signCalls[0], [1, 2, 3, 4]);
  assert.ok(s3.signCalls.every((batch) => batch.length <= 4));
  assert.deepEqual(s3.signCalls.flat().sort(), [1, 2, 3, 4, 5]);
});

test("only the missing parts are sent", async () => {
  const s3 = fakeStorage();
  await uploadParts({
    file: smallFile(),
    plan: planParts(23, 5),
    numbers: [2, 5],
    signParts: s3.signParts,
    putPart: s3.putPart,
  });
  assert.deepEqual([...s3.stored.keys()].sort(), [2, 5]);
  assert.deepEqual(s3.signCalls, [[2, 5]]);
});

test("parallel parts share one sign request instead of each asking", async () => {
  const s3 = fakeStorage();
  await uploadParts({
    file: smallFile(),
    plan: planParts(23, 5),
    numbers: [1, 2, 3, 4, 5],
    signParts: s3.signParts,
    putPart: s3.putPart,
    parallel: 4,
    signBatch: 100,
  });
  assert.deepEqual(s3.signCalls, [[1, 2, 3, 4, 5]]);
});

test("an expired URL is signed again and the part retried, without counting a failure", async () => {
  const expired = () => storageError(403, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>");
  const s3 = fakeStorage({ failures: { 3: [expired, expired] } });
  const renewed = [];
  await uploadParts({
    file: smallFile(),
    plan: planParts(23, 5),
    numbers: [1, 2, 3, 4, 5],
    signParts: s3.signParts,
    putPart: s3.putPart,
    parallel: 1,
    attempts: 1, // a single counted failure would end the upload
    wait: noWait,
    onRenew: ({ part }) => renewed.push(part),
  });
  assert.deepEqual(renewed, [3, 3]);
  assert.equal(s3.stored.size, 5);
  const part3 = s3.puts.filter((url) => url.startsWith("u3#"));
  assert.equal(new Set(part3).size, 3, "each retry of part 3 used a freshly signed URL");
});

/** Upload five parts one at a time, each taking 8 s of the client's clock, against `s3`. */
async function slowSequentialUpload(makeStorage, options = {}) {
  let clock = 0;
  const s3 = makeStorage(() => clock);
  await uploadParts({
    file: smallFile(),
    plan: planParts(23, 5),
    numbers: [1, 2, 3, 4, 5],
    signParts: s3.signParts,
    putPart: async (args) => {
      clock += 8_000; // each part takes 8 s, so the batch's later URLs get close to their expiry
      return s3.putPart(args);
    },
    parallel: 1,
    signBatch: 5,
    now: () => clock,
    ...options,
  });
  return s3;
}

test("URLs about to expire are renewed before they are used", async () => {
  const s3 = await slowSequentialUpload((clock) => fakeStorage({ lifetimeMs: 20_000, now: clock }));
  // Fresh while a quarter of the 20 s life is left: parts 3 and 5 would start with under 5 s.
  assert.deepEqual(s3.signCalls, [[1, 2, 3, 4, 5], [3, 4, 5], [5]]);
  assert.deepEqual(s3.puts, ["u1#1", "u2#1", "u3#2", "u4#2", "u5#3"]);
});

test("a client clock far ahead of the server's does not make every URL stale", async () => {
  const s3 = fakeStorage({ now: () => 0 }); // URLs "expire" at 60 s server time
  await uploadParts({
    file: smallFile(),
    plan: planParts(23, 5),
    numbers: [1, 2, 3, 4, 5],
    signParts: s3.signParts,
    putPart: s3.putPart,
    now: () => 10 * 3600 * 1000, // ten hours ahead
  });
  assert.deepEqual(s3.signCalls, [[1, 2, 3, 4, 5]]);
  assert.equal(s3.stored.size, 5);
});

test("a client clock far behind the server's still renews URLs within their real lifetime", async () => {
  const serverAhead = (clock) => fakeStorage({ lifetimeMs: 20_000, now: () => clock() + 10 * 3600 * 1000 });
  const s3 = await slowSequentialUpload(serverAhead, { urlLifetimeMs: 20_000 });
  assert.deepEqual(s3.signCalls, [[1, 2, 3, 4, 5], [3, 4, 5], [5]]);
});

test("network errors and 5xx are retried with backoff delays", async () => {
  const lost = () => new TransferError("lost");
  const busy = () => storageError(503, "<Error><Code>SlowDown</Code></Error>");
  const s3 = fakeStorage({ failures: { 2: [lost, busy] } });
  const waits = [];
  const retries = [];
  await uploadParts({
    file: smallFile(),
    plan: planParts(23, 5),
    numbers: [1, 2, 3],
    signParts: s3.signParts,
    putPart: s3.putPart,
    wait: async (ms) => waits.push(ms),
    delay: (attempt) => 100 * 2 ** attempt,
    onRetry: ({ part, attempt }) => retries.push([part, attempt]),
  });
  assert.deepEqual(retries, [[2, 1], [2, 2]]);
  assert.deepEqual(waits, [100, 200]);
  assert.equal(s3.stored.size, 3);
});

test("a part that keeps failing gives up, stops the other parts and reports the error", async () => {
  const lost = () => new TransferError("lost");
  const s3 = fakeStorage({ failures: { 1: Array(10).fill(lost) } });
  await assert.rejects(
    uploadParts({
      file: smallFile(),
      plan: planParts(23, 5),
      numbers: [1, 2, 3, 4, 5],
      signParts: s3.signParts,
      putPart: s3.putPart,
      parallel: 2,
      attempts: 3,
      wait: noWait,
    }),
    (error) => error instanceof TransferError && error.attempts === 3,
  );
  assert.equal(s3.puts.filter((url) => url.startsWith("u1#")).length, 3);
  assert.ok(s3.stored.size < 4, "the other parts stopped");
});

test("a refusal other than expiry is not retried", async () => {
  const denied = () => storageError(403, "<Error><Code>SignatureDoesNotMatch</Code></Error>");
  const s3 = fakeStorage({ failures: { 1: [denied] } });
  await assert.rejects(
    uploadParts({
      file: smallFile(),
      plan: planParts(23, 5),
      numbers: [1],
      signParts: s3.signParts,
      putPart: s3.putPart,
      wait: noWait,
    }),
    { code: "SignatureDoesNotMatch" },
  );
  assert.equal(s3.puts.length, 1);
});

test("pausing aborts the parts in flight; finished parts are reported, the rest are not", async () => {
  const s3 = fakeStorage();
  const controller = new AbortController();
  const done = [];
  const putPart = async (args) => {
    if (done.length === 2) controller.abort();
    return s3.putPart(args);
  };
  await assert.rejects(
    uploadParts({
      file: smallFile(),
      plan: planParts(23, 5),
      numbers: [1, 2, 3, 4, 5],
      signParts: s3.signParts,
      putPart,
      parallel: 1,
      signal: controller.signal,
      onPartDone: (number) => done.push(number),
    }),
    { name: "AbortError" },
  );
  assert.deepEqual(done, [1, 2]);
  assert.deepEqual([...s3.stored.keys()], [1, 2]);
});

test("a sign request the API refuses ends the upload", async () => {
  const { ApiError } = await import("../../uploads/static/uploads/api.js");
  await assert.rejects(
    uploadParts({
      file: smallFile(),
      plan: planParts(23, 5),
      numbers: [1, 2],
      signParts: async () => {
        throw new ApiError(409, { detail: "This upload was cancelled.", status: "aborted" });
      },
      putPart: async () => assert.fail("nothing may be sent"),
      wait: noWait,
    }),
    { status: 409 },
  );
});
