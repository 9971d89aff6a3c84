// The part sender: the exact slices the server signs, batching, concurrency, renewal, retries,
// pause and failure.
import assert from "node:assert/strict";
import { test } from "node:test";

import { sendParts } from "../../uploads/static/uploads/core/parts.js";
import { retryPolicy } from "../../uploads/static/uploads/core/retry.js";
import { connectionLost, s3Refusal, tick } from "./support/fake-server.mjs";
import { apiRefusal, protocol } from "./support/protocol.mjs";

/**
 * @import { PartEvent, PartSenderOptions } from "../../uploads/static/uploads/core/parts.js"
 * @import { PutSender } from "../../uploads/static/uploads/core/transfer.js"
 * @import { SignedParts } from "../../uploads/static/uploads/core/answers.js"
 */

const noWait = async () => {};

/** A 23-byte file whose bytes say where they come from; the server cuts it in 5s: 5,5,5,5,3. */
const smallFile = () => new Blob([new Uint8Array(23).map((_, index) => index)]);
const signedSize = (/** @type {number} */ n) => Math.min(5, 23 - (n - 1) * 5);

/**
 * What the fake storage records, and its sign and put calls (a test may replace them).
 * @typedef {object} FakeStorage
 * @property {number[][]} signCalls the part numbers of each sign call
 * @property {string[]} puts the URL of each PUT
 * @property {number} inFlight
 * @property {number} maxInFlight
 * @property {number} signings
 * @property {Map<number, number[]>} stored each part's bytes
 * @property {Map<number, number>} signed each part's signed size
 * @property {(numbers: number[], signal?: AbortSignal) => Promise<SignedParts>} sign
 * @property {PutSender} put
 */

/**
 * A fake API and bucket: signs URLs "u<part>#<signing>" with each part's size (`sizes` can
 * override it), and takes PUTs on a later tick, refusing any body not of the signed length;
 * `failures[n]` lists how part n's next PUTs fail.
 * @param {{lifetimeMs?: number, now?: () => number, failures?: Record<number, ((url: string) => Error)[]>,
 *   sizes?: (n: number) => number}} [options]
 * @returns {FakeStorage}
 */
function fakeStorage({ lifetimeMs = 60_000, now = () => 0, failures = {}, sizes = signedSize } = {}) {
  /** @type {FakeStorage} */
  const state = {
    signCalls: [],
    puts: [],
    inFlight: 0,
    maxInFlight: 0,
    signings: 0,
    stored: new Map(),
    signed: new Map(),
    sign: async () => assert.fail("replaced below"),
    put: async () => assert.fail("replaced below"),
  };
  state.sign = async (numbers) => {
    state.signCalls.push([...numbers]);
    state.signings += 1;
    const signing = state.signings;
    return {
      expires_at: new Date(now() + lifetimeMs).toISOString(),
      parts: numbers.map((number) => {
        state.signed.set(number, sizes(number));
        return { part_number: number, url: `u${number}#${signing}`, size: sizes(number) };
      }),
    };
  };
  state.put = async ({ url, body, onProgress, signal }) => {
    const number = Number(url.slice(1, url.indexOf("#")));
    state.puts.push(url);
    state.inFlight += 1;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    try {
      onProgress(Math.floor(body.size / 2));
      await tick();
      signal.throwIfAborted();
      const planned = failures[number]?.shift();
      if (planned) throw planned(url);
      if (body.size !== state.signed.get(number)) throw s3Refusal(403, "SignatureDoesNotMatch");
      state.stored.set(number, [...new Uint8Array(await body.arrayBuffer())]);
      onProgress(body.size);
    } finally {
      state.inFlight -= 1;
    }
    return "";
  };
  return state;
}

/**
 * Send `numbers` of the small file through `s3`, collecting what the sender reports; `options`
 * override the sender's.
 * @param {FakeStorage} s3
 * @param {{numbers?: number[], partSize?: number, signal?: AbortSignal} & Partial<PartSenderOptions>} [options]
 */
function send(s3, { numbers = [1, 2, 3, 4, 5], partSize = 5, signal = new AbortController().signal, ...options } = {}) {
  /** @type {PartEvent[]} */
  const events = [];
  const done = sendParts(
    { file: smallFile(), partSize, numbers },
    {
      sign: s3.sign,
      put: s3.put,
      retry: retryPolicy({ wait: noWait }),
      now: () => 0,
      parallel: 4,
      urlLifetimeMs: 60_000,
      maxPerSign: protocol.maxPartsPerSign,
      ...options,
    },
    { signal, report: (event) => events.push(event) },
  );
  return { done, events };
}

/**
 * The events of one type.
 * @template {PartEvent["type"]} T
 * @param {PartEvent[]} events
 * @param {T} type
 * @returns {Extract<PartEvent, {type: T}>[]}
 */
const of = (events, type) =>
  events.filter((event) => event.type === type).map((event) => /** @type {Extract<PartEvent, {type: T}>} */ (event));

test("every given part is sent once, with its own bytes, a few at a time", async () => {
  const s3 = fakeStorage();
  const { done, events } = send(s3, { parallel: 2 });
  await done;
  assert.deepEqual(
    of(events, "part")
      .map((event) => event.number)
      .sort(),
    [1, 2, 3, 4, 5],
  );
  assert.equal(s3.puts.length, 5);
  assert.equal(s3.maxInFlight, 2);
  assert.deepEqual(s3.stored.get(5), [20, 21, 22]);
  assert.deepEqual(s3.stored.get(2), [5, 6, 7, 8, 9]);
  assert.equal(of(events, "progress").at(-1)?.bytes, 23);
  // Signed on demand: the first batch covers 2×parallel parts, never the whole file at once.
  assert.deepEqual(s3.signCalls[0], [1, 2, 3, 4]);
  assert.ok(s3.signCalls.every((batch) => batch.length <= 4));
  assert.deepEqual(s3.signCalls.flat().sort(), [1, 2, 3, 4, 5]);
});

test("each part is the slice the server signed: (n-1)·part_size, then exactly `size` bytes", async () => {
  // A server that signs part 2 for 3 bytes and part 3 for 2: the sender must send those lengths,
  // from where each part starts, whatever part_size alone would suggest.
  const sizes = (/** @type {number} */ n) => (n === 2 ? 3 : n === 3 ? 2 : signedSize(n));
  const s3 = fakeStorage({ sizes });
  const { done, events } = send(s3, { numbers: [2, 3, 5] });
  await done;
  assert.deepEqual(s3.stored.get(2), [5, 6, 7]);
  assert.deepEqual(s3.stored.get(3), [10, 11]);
  assert.deepEqual(s3.stored.get(5), [20, 21, 22]);
  assert.deepEqual(
    of(events, "part")
      .map(({ number, size }) => [number, size])
      .sort(),
    [
      [2, 3],
      [3, 2],
      [5, 3],
    ],
  );
  assert.equal(of(events, "progress").at(-1)?.bytes, 8, "progress counts the signed sizes");
});

test("only the missing parts are sent", async () => {
  const s3 = fakeStorage();
  await send(s3, { numbers: [2, 5] }).done;
  assert.deepEqual([...s3.stored.keys()].sort(), [2, 5]);
  assert.deepEqual(s3.signCalls, [[2, 5]]);
});

test("URLs signed with the record are used first, and only the other parts are asked for", async () => {
  const s3 = fakeStorage();
  const signed = {
    expires_at: new Date(60_000).toISOString(),
    parts: [1, 2].map((number) => ({ part_number: number, url: `u${number}#0`, size: signedSize(number) })),
  };
  for (const part of signed.parts) s3.signed.set(part.part_number, part.size);
  const { done } = send(s3, { parallel: 2, signed });
  await done;
  assert.deepEqual(s3.puts.slice(0, 2).sort(), ["u1#0", "u2#0"]);
  assert.deepEqual(s3.signCalls.flat().sort(), [3, 4, 5]);
  assert.deepEqual([...s3.stored.keys()].sort(), [1, 2, 3, 4, 5]);
});

test("parallel parts share one sign request instead of each asking", async () => {
  const s3 = fakeStorage();
  await send(s3, { parallel: 4, batch: 100 }).done;
  assert.deepEqual(s3.signCalls, [[1, 2, 3, 4, 5]]);
});

test("the first batch never asks for more URLs than the protocol's signing limit", async () => {
  const s3 = fakeStorage({ sizes: () => 0 });
  const limit = protocol.maxPartsPerSign;
  const numbers = Array.from({ length: limit + 50 }, (_, index) => index + 1);
  await send(s3, { numbers, parallel: 80, partSize: 0 }).done;
  assert.deepEqual(
    s3.signCalls.map((batch) => batch.length),
    [limit, 50],
  );
});

test("on a fast link later batches grow, but never past the signing limit", async () => {
  let clock = 0;
  const s3 = fakeStorage({ sizes: () => 0, now: () => clock });
  const put = s3.put;
  s3.put = async (args) => {
    clock += 1; // a part a millisecond: at that pace half a URL's life covers 30 000 parts
    return put(args);
  };
  const numbers = Array.from({ length: 300 }, (_, index) => index + 1);
  await send(s3, { numbers, parallel: 1, batch: 5, partSize: 0, now: () => clock, maxPerSign: 40 }).done;
  const sizes = s3.signCalls.map((batch) => batch.length);
  assert.equal(sizes[0], 5);
  assert.ok(
    sizes.slice(1).some((size) => size > 5),
    `batches grow: ${sizes}`,
  );
  assert.ok(
    sizes.every((size) => size <= 40),
    `no batch above the limit: ${sizes}`,
  );
  assert.equal(
    sizes.reduce((sum, size) => sum + size, 0),
    300,
  );
});

test("an expired URL is signed again and the part retried, without counting a failure", async () => {
  const expired = () => s3Refusal(403, "AccessDenied", "Request has expired");
  const s3 = fakeStorage({ failures: { 3: [expired, expired] } });
  const retry = retryPolicy({ attempts: 1, wait: noWait }); // a single counted failure would end it
  const { done, events } = send(s3, { parallel: 1, retry });
  await done;
  assert.deepEqual(
    of(events, "renew").map((event) => event.part),
    [3, 3],
  );
  assert.equal(s3.stored.size, 5);
  const part3 = s3.puts.filter((url) => url.startsWith("u3#"));
  assert.equal(new Set(part3).size, 3, "each retry of part 3 used a freshly signed URL");
});

/**
 * Send five parts one at a time, each taking 8 s of the client's clock, against `s3`.
 * @param {(clock: () => number) => FakeStorage} makeStorage
 * @param {Partial<PartSenderOptions>} [options]
 */
async function slowSequentialSend(makeStorage, options = {}) {
  let clock = 0;
  const s3 = makeStorage(() => clock);
  const put = s3.put;
  s3.put = async (args) => {
    clock += 8_000; // each part takes 8 s, so the batch's later URLs get close to their expiry
    return put(args);
  };
  await send(s3, { parallel: 1, batch: 5, now: () => clock, ...options }).done;
  return s3;
}

test("URLs about to expire are renewed before they are used", async () => {
  const s3 = await slowSequentialSend((clock) => fakeStorage({ lifetimeMs: 20_000, now: clock }));
  // Fresh while a quarter of the 20 s life is left: parts 3 and 5 would start with under 5 s.
  assert.deepEqual(s3.signCalls, [[1, 2, 3, 4, 5], [3, 4, 5], [5]]);
  assert.deepEqual(s3.puts, ["u1#1", "u2#1", "u3#2", "u4#2", "u5#3"]);
});

test("a client clock far ahead of the server's does not make every URL stale", async () => {
  const s3 = fakeStorage({ now: () => 0 }); // URLs "expire" at 60 s server time
  await send(s3, { now: () => 10 * 3600 * 1000 }).done; // ten hours ahead
  assert.deepEqual(s3.signCalls, [[1, 2, 3, 4, 5]]);
  assert.equal(s3.stored.size, 5);
});

test("a client clock far behind the server's still renews URLs within their real lifetime", async () => {
  const serverAhead = (/** @type {() => number} */ clock) => fakeStorage({ lifetimeMs: 20_000, now: () => clock() + 10 * 3600 * 1000 });
  const s3 = await slowSequentialSend(serverAhead, { urlLifetimeMs: 20_000 });
  assert.deepEqual(s3.signCalls, [[1, 2, 3, 4, 5], [3, 4, 5], [5]]);
});

test("network errors and 5xx are retried with backoff delays", async () => {
  const busy = () => s3Refusal(503, "SlowDown");
  const s3 = fakeStorage({ failures: { 2: [connectionLost, busy] } });
  /** @type {number[]} */
  const waits = [];
  const retry = retryPolicy({ wait: async (ms) => void waits.push(ms), delay: (attempt) => 100 * 2 ** attempt });
  const { done, events } = send(s3, { numbers: [1, 2, 3], retry });
  await done;
  assert.deepEqual(
    of(events, "retry").map(({ part, attempt }) => [part, attempt]),
    [
      [2, 1],
      [2, 2],
    ],
  );
  assert.deepEqual(waits, [100, 200]);
  assert.equal(s3.stored.size, 3);
});

test("a part that keeps failing gives up, stops the other parts and reports the error", async () => {
  const s3 = fakeStorage({ failures: { 1: Array(10).fill(connectionLost) } });
  const { done } = send(s3, { parallel: 2, retry: retryPolicy({ attempts: 3, wait: noWait }) });
  await assert.rejects(done, { name: "StorageError", attempts: 3 });
  assert.equal(s3.puts.filter((url) => url.startsWith("u1#")).length, 3);
  assert.ok(s3.stored.size < 4, "the other parts stopped");
});

test("a refusal other than expiry is not retried", async () => {
  const denied = () => s3Refusal(403, "SignatureDoesNotMatch");
  const s3 = fakeStorage({ failures: { 1: [denied] } });
  await assert.rejects(send(s3, { numbers: [1] }).done, { code: "SignatureDoesNotMatch" });
  assert.equal(s3.puts.length, 1);
});

test("pausing aborts the parts in flight; finished parts are reported, the rest are not", async () => {
  const s3 = fakeStorage();
  const controller = new AbortController();
  const finished = () => of(run.events, "part").map((event) => event.number);
  const put = s3.put;
  s3.put = async (args) => {
    if (finished().length === 2) controller.abort();
    return put(args);
  };
  const run = send(s3, { parallel: 1, signal: controller.signal });
  await assert.rejects(run.done, { name: "AbortError" });
  assert.deepEqual(finished(), [1, 2]);
  assert.deepEqual([...s3.stored.keys()], [1, 2]);
});

test("a sign request the API refuses ends the sending", async () => {
  const s3 = fakeStorage();
  s3.sign = async () => {
    throw apiRefusal(409, { detail: "This upload was cancelled.", code: "not_pending", status: "aborted" });
  };
  s3.put = async () => assert.fail("nothing may be sent");
  await assert.rejects(send(s3, { numbers: [1, 2] }).done, { status: 409 });
});
