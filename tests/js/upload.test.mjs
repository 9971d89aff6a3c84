// One file's upload against a fake server and bucket (the real API client, parsing the wire
// contract): the POST and multipart paths, resume, restart, retry without a second record, pause,
// cancel.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createResumeStore } from "../../uploads/static/uploads/core/resume.js";
import { bytesOf, connectionLost, fakeServer, makeFile, s3Refusal, tick } from "./support/fake-server.mjs";
import { offline, setup, testConfig, until, watch } from "./support/harness.mjs";
import { PROTOCOL_TABLE } from "./support/protocol.mjs";

/** Storage refusing a POST for its policy (not retried: the person must press Retry). */
const refusedByPolicy = () => s3Refusal(403, "AccessDenied", "Policy Condition failed");
/** @import { FakeServer } from "./support/fake-server.mjs" */

const puts = (/** @type {FakeServer} */ server) => server.calls.filter((call) => call.startsWith("PUT")).sort();
const stored = (/** @type {FakeServer} */ server, /** @type {string} */ id) =>
  [...server.entry(id).parts.values()].reduce((sum, bytes) => sum + bytes.length, 0);

test("a small file goes up as one POST and is verified", async () => {
  const server = fakeServer();
  const file = makeFile(8);
  const upload = setup(server).make(file);
  const seen = watch(upload);
  const done = await until(upload, "uploaded", "failed");
  assert.equal(done.status, "uploaded", done.message);
  assert.deepEqual(seen.statuses, ["queued", "preparing", "uploading", "verifying", "uploaded"]);
  assert.deepEqual(server.calls, ["create", "POST", "complete r1"]);
  assert.equal(done.loaded, 8);
  assert.equal(done.id, "r1");
  assert.deepEqual([...(server.entry("r1").object ?? [])], await bytesOf(file));
});

test("a large file goes up in parts, is remembered while it goes, and forgotten when done", async () => {
  const server = fakeServer();
  const { make, store } = setup(server);
  const file = makeFile(23);
  let remembered = null;
  server.hooks.beforePut = async () => {
    remembered ??= store.get(file);
  };
  const upload = make(file);
  const done = await until(upload, "uploaded", "failed");
  assert.equal(done.status, "uploaded", done.message);
  assert.equal(remembered, "r1");
  assert.equal(store.get(file), null);
  assert.deepEqual(puts(server), ["PUT 1", "PUT 2", "PUT 3", "PUT 4", "PUT 5"]);
  // The server assembled exactly the file: every part was the slice it signed.
  assert.deepEqual([...(server.entry("r1").object ?? [])], await bytesOf(file));
});

test("picking the same file again resumes its record and sends only the missing parts", async () => {
  const server = fakeServer();
  const store = createResumeStore(null);
  const file = makeFile(23);
  // The first page "crashes" after two parts: the later ones never finish.
  server.hooks.beforePut = async (number) => {
    if (number > 2) await new Promise(() => {});
  };
  setup(server, { store }).make(file);
  while (server.records.get("r1")?.parts.size !== 2) await tick();
  server.hooks.beforePut = async () => {};
  server.calls.length = 0;

  const second = setup(server, { store }).make(file);
  const seen = watch(second);
  const done = await until(second, "uploaded", "failed");
  assert.equal(done.status, "uploaded", done.message);
  assert.equal(done.id, "r1");
  assert.ok(!server.calls.includes("create"));
  assert.deepEqual(server.calls.slice(0, 2), ["get r1", "list-parts r1"]);
  assert.deepEqual(puts(server), ["PUT 3", "PUT 4", "PUT 5"]);
  // What storage held is the server's bytes_confirmed, said in words.
  assert.ok(seen.messages.includes("Resumed: 10 bytes was already in storage."), seen.messages.join(" | "));
  assert.deepEqual([...(server.entry("r1").object ?? [])], await bytesOf(file));
});

test("a resumed record past its deadline stops the upload; Retry cancels it and makes a new one", async () => {
  const server = fakeServer();
  const store = createResumeStore(null);
  const file = makeFile(23);
  server.hooks.beforePut = async (number) => {
    if (number > 2) await new Promise(() => {});
  };
  setup(server, { store }).make(file);
  while (server.records.get("r1")?.parts.size !== 2) await tick();
  server.hooks.beforePut = async () => {};
  server.pastDeadline.add("r1"); // a day later, say
  server.calls.length = 0;

  const second = setup(server, { store }).make(file);
  const seen = watch(second);
  const stopped = await until(second, "expired", "uploaded", "failed");
  assert.equal(stopped.status, "expired", stopped.message);
  assert.equal(stopped.message, "This upload's deadline has passed.");
  assert.deepEqual(server.calls.slice(0, 3), ["get r1", "list-parts r1", "sign 3,4,5"]);
  assert.equal(server.calls.at(-1), "abort r1");
  assert.ok(!server.calls.includes("create"), "nothing is made until the person says so");
  assert.equal(server.entry("r1").record.status, "aborted", "its parts stop costing storage");
  assert.equal(store.get(file), null);
  assert.deepEqual(second.snapshot.id, null);
  assert.ok(second.can("retry"));

  second.retry();
  const done = await until(second, "uploaded", "failed", "expired");
  assert.equal(done.status, "uploaded", done.message);
  assert.equal(done.id, "r2");
  // Nothing more is asked for the refused record: the new one is sent whole.
  const afterwards = server.calls.slice(server.calls.indexOf("create"));
  assert.deepEqual(afterwards.filter((call) => call.startsWith("PUT")).sort(), ["PUT 1", "PUT 2", "PUT 3", "PUT 4", "PUT 5"]);
  assert.ok(!server.calls.slice(server.calls.indexOf("create")).some((call) => call.endsWith(" r1")));
  assert.deepEqual(seen.statuses.slice(-6), ["expired", "queued", "preparing", "uploading", "verifying", "uploaded"]);
  assert.equal(stored(server, "r2"), 23);
});

test("a POST record whose deadline passed before Retry is cancelled, and the next Retry makes a new one", async () => {
  const server = fakeServer();
  let refusals = 1;
  server.hooks.beforePost = async () => {
    if (refusals-- > 0) throw refusedByPolicy();
  };
  const upload = setup(server).make(makeFile(8));
  await until(upload, "failed");
  server.pastDeadline.add("r1"); // the person came back to it too late
  server.calls.length = 0;
  upload.retry();
  const stopped = await until(upload, "expired", "uploaded", "failed");
  assert.equal(stopped.status, "expired");
  assert.deepEqual(server.calls, ["authorize r1", "abort r1"]);
  assert.equal(server.entry("r1").record.status, "aborted");
  upload.retry();
  const done = await until(upload, "uploaded", "failed", "expired");
  assert.equal(done.status, "uploaded", done.message);
  assert.equal(done.id, "r2");
  assert.deepEqual(server.calls, ["authorize r1", "abort r1", "create", "POST", "complete r2"]);
});

test("a record refused for its deadline never makes another by itself, even when each new one is refused too", async () => {
  const server = fakeServer();
  server.override.create = async ({ next }) => {
    const answer = await next();
    server.pastDeadline.add(answer.body.id); // every new record is already too late (a broken clock)
    return answer;
  };
  const upload = setup(server).make(makeFile(23));
  for (const round of [1, 2]) {
    const done = await until(upload, "uploaded", "failed", "expired");
    assert.equal(done.status, "expired");
    assert.equal(server.calls.filter((call) => call === "create").length, round);
    if (round === 1) upload.retry();
  }
});

test("a new multipart upload starts on the part URLs signed with its record", async () => {
  const server = fakeServer({ firstParts: 2 });
  const done = await until(setup(server).make(makeFile(23)), "uploaded", "failed");
  assert.equal(done.status, "uploaded", done.message);
  const asked = server.calls.filter((call) => call.startsWith("sign")).flatMap((call) => call.slice(5).split(","));
  assert.deepEqual(asked.sort(), ["3", "4", "5"]);
  assert.deepEqual(puts(server), ["PUT 1", "PUT 2", "PUT 3", "PUT 4", "PUT 5"]);
});

test("no sign call asks for more part numbers than the protocol table's signing limit", async () => {
  const server = fakeServer({ firstParts: 0 });
  const protocol = { ...PROTOCOL_TABLE, limits: { ...PROTOCOL_TABLE.limits, max_parts_per_sign: 2 } };
  const upload = setup(server, { config: testConfig({ protocol, parallelParts: 4 }) }).make(makeFile(23));
  const done = await until(upload, "uploaded", "failed");
  assert.equal(done.status, "uploaded", done.message);
  const asked = server.calls.filter((call) => call.startsWith("sign")).map((call) => call.slice(5).split(","));
  assert.ok(
    asked.every((numbers) => numbers.length <= 2),
    JSON.stringify(asked),
  );
  assert.deepEqual(asked.flat().sort(), ["1", "2", "3", "4", "5"]);
});

test("storage losing a multipart upload's parts starts a new upload, once", async () => {
  const server = fakeServer();
  // Storage lost r1's upload: every part URL asked for it is refused.
  server.override.sign = async ({ id, next }) =>
    id === "r1"
      ? server.refuse(409, "Storage no longer holds this upload's parts; start it again.", "parts_gone", { status: "pending" })
      : next();
  const upload = setup(server).make(makeFile(23));
  const seen = watch(upload);
  const done = await until(upload, "uploaded", "failed");
  assert.equal(done.status, "uploaded", done.message);
  assert.equal(done.id, "r2");
  assert.equal(server.entry("r1").record.status, "aborted");
  assert.ok(seen.messages.includes("The earlier upload could not go on; starting it again as a new upload."));
  assert.ok(!seen.statuses.includes("expired"), "no one is asked: storage lost the parts, not the person's time");
});

test("a remembered record that is no longer pending is forgotten and the file starts afresh", async () => {
  const server = fakeServer();
  const store = createResumeStore(null);
  const file = makeFile(23);
  const first = setup(server, { store });
  const old = await first.api.create(file, "key-of-an-earlier-page");
  await first.api.abort(old.id);
  store.remember(file, old.id);
  server.calls.length = 0;
  const done = await until(setup(server, { store }).make(file), "uploaded", "failed");
  assert.equal(done.status, "uploaded");
  assert.equal(done.id, "r2");
  assert.deepEqual(server.calls.slice(0, 3), ["get r1", "list-pending", "create"]);
});

test("without localStorage the server's pending list finds the record", async () => {
  const server = fakeServer();
  const file = makeFile(23);
  const { api } = setup(server);
  const record = await api.create(file, "key-of-an-earlier-page");
  server.entry(record.id).parts.set(1, new Uint8Array(await bytesOf(file.slice(0, 5))));
  server.calls.length = 0;
  const done = await until(setup(server).make(file), "uploaded", "failed");
  assert.equal(done.status, "uploaded", done.message);
  assert.equal(done.id, record.id);
  assert.deepEqual(server.calls.slice(0, 2), ["list-pending", "list-parts r1"]);
  // The server's `missing` list is what is sent: parts 2 to 5.
  assert.deepEqual(puts(server), ["PUT 2", "PUT 3", "PUT 4", "PUT 5"]);
  assert.deepEqual([...(server.entry("r1").object ?? [])], await bytesOf(file));
});

test("a failed POST is retried on the same record: authorize, not a second create", async () => {
  const server = fakeServer();
  const { make } = setup(server);
  let refusals = 1;
  server.hooks.beforePost = async () => {
    if (refusals-- > 0) throw refusedByPolicy();
  };
  const upload = make(makeFile(8));
  const failed = await until(upload, "failed");
  assert.match(failed.message, /Storage refused the file/);
  assert.ok(upload.can("retry") && upload.can("cancel"));
  upload.retry();
  const done = await until(upload, "uploaded", "failed");
  assert.equal(done.status, "uploaded");
  assert.equal(server.records.size, 1);
  assert.deepEqual(server.calls, ["create", "POST", "authorize r1", "POST", "complete r1"]);
});

test("an expired POST policy is renewed without a failure", async () => {
  const server = fakeServer();
  let expired = 1;
  server.hooks.beforePost = async () => {
    if (expired-- > 0) throw s3Refusal(403, "AccessDenied", "Invalid according to Policy: Policy expired.");
  };
  const upload = setup(server).make(makeFile(8));
  const seen = watch(upload);
  const done = await until(upload, "uploaded", "failed");
  assert.equal(done.status, "uploaded");
  assert.ok(seen.messages.includes("Upload permission expired. Renewing…"));
  assert.deepEqual(server.calls, ["create", "POST", "authorize r1", "POST", "complete r1"]);
});

test("network trouble is retried and said in words", async () => {
  const server = fakeServer();
  let losses = 2;
  server.hooks.beforePost = async () => {
    if (losses-- > 0) throw connectionLost();
  };
  const upload = setup(server).make(makeFile(8));
  const seen = watch(upload);
  const done = await until(upload, "uploaded", "failed");
  assert.equal(done.status, "uploaded");
  assert.ok(seen.messages.some((message) => message.startsWith("Connection lost. Retrying")));
  assert.equal(done.message, "", "the retry note goes once bytes move again");
  assert.equal(server.records.size, 1);
});

test("a create whose answer was lost is retried with the same Idempotency-Key: one record", async () => {
  const server = fakeServer();
  /** @type {string[]} */
  const keys = [];
  let lost = 0;
  server.override.create = async ({ next, headers }) => {
    keys.push(headers["Idempotency-Key"]);
    const answer = await next(); // the server makes (or, for a known key, finds) the record…
    if (lost < 3) {
      lost += 1;
      return "network"; // …but its answer never arrives
    }
    return answer;
  };
  const done = await until(setup(server).make(makeFile(8)), "uploaded", "failed");
  assert.equal(done.status, "uploaded", done.message);
  assert.equal(keys.length, 4);
  assert.equal(new Set(keys).size, 1, "every retry repeats the row's one key");
  assert.equal(server.records.size, 1, "one record, not four");
});

test("two rows of the same file send different keys, so they never merge into one record", async () => {
  const server = fakeServer();
  /** @type {string[]} */
  const keys = [];
  server.override.create = async ({ next, headers }) => {
    keys.push(headers["Idempotency-Key"]);
    return next();
  };
  const { make } = setup(server);
  const file = makeFile(8);
  const [one, two] = await Promise.all([until(make(file), "uploaded"), until(make(file), "uploaded")]);
  assert.notEqual(one.id, two.id);
  assert.equal(new Set(keys).size, 2);
});

test("a server refusal ends the upload with the API's own words and no retry loop", async () => {
  const server = fakeServer();
  server.override.create = async () =>
    server.refuse(400, "Files larger than 10 bytes are not accepted.", "invalid", {
      fields: { size: ["Files larger than 10 bytes are not accepted."] },
    });
  const done = await until(setup(server).make(makeFile(8)), "failed");
  assert.equal(done.message, "The server refused the file: Files larger than 10 bytes are not accepted.");
  assert.deepEqual(server.calls, ["create"]);
});

test("a file the server rejects at completion fails with its reason; Retry makes a new record", async () => {
  const server = fakeServer();
  server.override.complete = async ({ id, next }) => {
    if (id !== "r1") return next();
    server.entry(id).record.status = "failed";
    return server.refuse(409, "The file's contents are not video/mp4.", "failed", { status: "failed" });
  };
  const upload = setup(server).make(makeFile(8));
  const failed = await until(upload, "failed");
  assert.equal(failed.message, "The file's contents are not video/mp4.");
  assert.equal(failed.recordOpen, false);
  assert.ok(!upload.can("cancel"), "nothing is left to discard");
  upload.retry();
  const done = await until(upload, "uploaded");
  assert.equal(done.id, "r2");
});

test("pause stops the parts; resume sends only the rest", async () => {
  const server = fakeServer();
  // Parts 3 and later hang until aborted, as an XHR does on a slow line.
  server.hooks.beforePut = async (number, signal) => {
    if (number >= 3) await new Promise((resolve) => signal.addEventListener("abort", resolve));
  };
  const upload = setup(server).make(makeFile(23));
  while (server.records.get("r1")?.parts.size !== 2) await tick();
  assert.ok(upload.can("pause"));
  upload.pause();
  assert.equal(upload.snapshot.status, "paused");
  assert.equal(upload.snapshot.loaded, 10, "only the parts storage holds count");
  await tick();
  await tick();
  assert.equal(upload.snapshot.status, "paused");
  assert.ok(upload.can("resume") && !upload.can("pause"));
  server.hooks.beforePut = async () => {};
  server.calls.length = 0;
  upload.resume();
  const done = await until(upload, "uploaded", "failed");
  assert.equal(done.status, "uploaded", done.message);
  assert.deepEqual(puts(server), ["PUT 3", "PUT 4", "PUT 5"]);
  // Parts 1 and 2 named with the ETags the listing gave, 3 to 5 with their PUTs' answers.
  assert.deepEqual(server.entry("r1").named, named(5));
});

/** A complete/ body's parts: 1 to `count`, each with its ETag. */
const named = (/** @type {number} */ count) =>
  Array.from({ length: count }, (_, index) => ({ part_number: index + 1, etag: `"e${index + 1}"` }));

test("complete names every part with the ETag storage answered it with", async () => {
  const server = fakeServer();
  const done = await until(setup(server).make(makeFile(23)), "uploaded", "failed");
  assert.equal(done.status, "uploaded", done.message);
  assert.deepEqual(server.entry("r1").named, named(5));
  assert.ok(!server.calls.includes("list-parts r1"));
});

test("when storage hides its ETags, complete names no parts and the server lists them", async () => {
  const server = fakeServer({ exposeETags: false });
  const done = await until(setup(server).make(makeFile(23)), "uploaded", "failed");
  assert.equal(done.status, "uploaded", done.message);
  assert.equal(server.entry("r1").named, null);
});

test("complete finding parts missing sends them and completes", async () => {
  const server = fakeServer();
  let dropped = false;
  server.override.complete = async ({ id, next }) => {
    if (!dropped) {
      dropped = true;
      server.entry(id).parts.delete(4); // storage lost a part (or it never really arrived)
    }
    return next();
  };
  const done = await until(setup(server).make(makeFile(23)), "uploaded", "failed");
  assert.equal(done.status, "uploaded", done.message);
  assert.equal(server.calls.filter((call) => call === "PUT 4").length, 2);
  assert.deepEqual(
    server.calls.filter((call) => call.startsWith("list-parts")),
    ["list-parts r1"],
  );
});

test("a POST object listed late is completed on a later round, not sent again", async () => {
  const server = fakeServer();
  let late = 1;
  server.override.complete = async ({ next }) =>
    late-- > 0 ? server.refuse(409, "The bucket holds no file for this upload yet.", "not_received", { status: "pending" }) : next();
  const done = await until(setup(server).make(makeFile(8)), "uploaded", "failed");
  assert.equal(done.status, "uploaded", done.message);
  assert.deepEqual(server.calls, ["create", "POST", "complete r1", "complete r1"]);
});

test("cancel aborts the transfer and the record", async () => {
  const server = fakeServer();
  server.hooks.beforePut = async (number, signal) => {
    if (number >= 2) await new Promise((resolve) => signal.addEventListener("abort", resolve));
  };
  const file = makeFile(23);
  const { make, store } = setup(server);
  const upload = make(file);
  await until(upload, "uploading");
  while (!server.calls.includes("PUT 2")) await tick();
  await upload.cancel();
  assert.equal(upload.snapshot.status, "aborted");
  assert.equal(upload.snapshot.message, "Cancelled. Nothing was kept in storage.");
  assert.equal(server.entry("r1").record.status, "aborted");
  assert.equal(server.entry("r1").parts.size, 0);
  assert.equal(store.get(file), null);
});

test("cancel while the record is being made still aborts that record", async () => {
  const server = fakeServer();
  /** @type {() => void} */
  let answer = () => {};
  server.override.create = ({ next }) => new Promise((resolve) => (answer = () => resolve(next())));
  const upload = setup(server).make(makeFile(8));
  await until(upload, "preparing");
  await tick();
  const cancelling = upload.cancel();
  answer();
  await cancelling;
  assert.equal(upload.snapshot.status, "aborted");
  assert.equal(server.entry("r1").record.status, "aborted");
  assert.ok(!server.calls.includes("POST"));
});

test("an upload cancelled while it waits its turn sends nothing", async () => {
  const server = fakeServer();
  const upload = setup(server).make(makeFile(8));
  await upload.cancel();
  await tick();
  assert.equal(upload.snapshot.status, "aborted");
  assert.deepEqual(server.calls, []);
});

test("retrying a record the server has closed shows it closed; nothing is retried on it", async () => {
  const server = fakeServer();
  const upload = setup(server).make(makeFile(8));
  server.hooks.beforePost = async () => {
    server.entry("r1").record.status = "aborted"; // cancelled in another tab
    throw s3Refusal(403, "AccessDenied");
  };
  await until(upload, "failed");
  server.hooks.beforePost = async () => {};
  upload.retry();
  // authorize answers 409 with the record aborted: the page shows it, and offers no Retry.
  const done = await until(upload, "uploaded", "failed", "aborted");
  assert.equal(done.status, "aborted");
  assert.equal(upload.can("retry"), false);
});

test("an offline browser holds its requests until the connection is back", async () => {
  const server = fakeServer();
  const network = offline();
  const upload = setup(server, { connectivity: network.connectivity }).make(makeFile(8));
  await until(upload, "preparing");
  await tick();
  assert.equal(upload.snapshot.message, "You are offline. The upload goes on when the connection is back…");
  assert.deepEqual(server.calls, []);
  network.reconnect();
  const done = await until(upload, "uploaded");
  assert.equal(done.message, "");
});

test("cancelling while it waits offline for its record stops at once, with nothing made", async () => {
  const server = fakeServer();
  const network = offline();
  const upload = setup(server, { connectivity: network.connectivity }).make(makeFile(8));
  await until(upload, "preparing");
  await tick();
  await upload.cancel();
  assert.equal(upload.snapshot.status, "aborted");
  assert.equal(upload.snapshot.message, "Cancelled.");
  assert.deepEqual(server.calls, []);
});

test("a part failing as the person pauses leaves the upload paused, not failed", async () => {
  const server = fakeServer();
  server.hooks.beforePut = async (number, signal) => {
    if (number < 3) return;
    await new Promise((resolve) => signal.addEventListener("abort", resolve));
    throw s3Refusal(403, "SignatureDoesNotMatch"); // not an abort
  };
  const upload = setup(server).make(makeFile(23));
  while (server.records.get("r1")?.parts.size !== 2) await tick();
  upload.pause();
  for (let i = 0; i < 5; i += 1) await tick();
  assert.equal(upload.snapshot.status, "paused");
  assert.ok(upload.can("resume"));
});
