// Unit tests for one file's upload, against a fake API and a fake bucket: the POST and multipart
// paths, resume, retry without a second record, pause and cancel.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError } from "../../uploads/static/uploads/api.js";
import { readConfig } from "../../uploads/static/uploads/config.js";
import { UploadJob } from "../../uploads/static/uploads/job.js";
import { createQueue } from "../../uploads/static/uploads/queue.js";
import { createResumeStore } from "../../uploads/static/uploads/resume.js";
import { storageError, TransferError } from "../../uploads/static/uploads/transfer.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
const later = (ms) => new Date(Date.now() + ms).toISOString();

/** A file of `size` bytes, as the picker would give it. */
function makeFile(size, name = "clip.mp4", type = "video/mp4") {
  const bytes = new Uint8Array(size).map((_, index) => index % 251);
  return new File([bytes], name, { type, lastModified: 1_700_000_000_000 });
}

/** The API and the bucket, in memory: files above `threshold` bytes go up in parts of `partSize`. */
function fakeServer({ threshold = 10, partSize = 5 } = {}) {
  const records = new Map();
  const calls = [];
  const hooks = { beforePut: async () => {}, beforePost: async () => {} };
  let created = 0;

  const plan = (record) => ({ part_size: partSize, part_count: Math.ceil(record.size / partSize) });
  const describeUpload = (record) =>
    record.upload_method === "multipart"
      ? { method: "multipart", ...plan(record), expires_at: later(86_400_000) }
      : { method: "POST", url: `https://s3/${record.id}`, fields: { key: record.id }, expires_at: later(60_000) };
  const find = (id) => {
    const entry = records.get(id);
    if (!entry) throw new ApiError(404, { detail: "Not found." });
    return entry;
  };
  const pendingOnly = (entry) => {
    if (entry.record.status !== "pending") {
      throw new ApiError(409, { detail: `This upload is ${entry.record.status}.`, status: entry.record.status });
    }
  };
  // Records whose upload deadline has passed: the server signs nothing more for them.
  const pastDeadline = new Set();
  const authorisable = (entry) => {
    pendingOnly(entry);
    if (pastDeadline.has(entry.record.id)) {
      throw new ApiError(409, { detail: "This upload's deadline has passed.", code: "upload_expired", status: "pending" });
    }
  };
  const partList = (entry) =>
    [...entry.parts.entries()].sort(([a], [b]) => a - b).map(([number, size]) => ({ part_number: number, size, etag: `e${number}` }));

  const api = {
    async create(file) {
      calls.push("create");
      created += 1;
      const record = {
        id: `r${created}`,
        filename: file.name,
        size: file.size,
        content_type: file.type,
        status: "pending",
        upload_method: file.size > threshold ? "multipart" : "post",
        created_at: `2026-11-0${created}T00:00:00Z`,
      };
      records.set(record.id, { record, parts: new Map(), object: null });
      return { ...record, upload: describeUpload(record) };
    },
    async get(id) {
      calls.push(`get ${id}`);
      return { ...find(id).record };
    },
    async authorize(id) {
      calls.push(`authorize ${id}`);
      const entry = find(id);
      authorisable(entry);
      return { ...entry.record, upload: describeUpload(entry.record) };
    },
    async signParts(id, numbers) {
      calls.push(`sign ${numbers.join(",")}`);
      const entry = find(id);
      authorisable(entry);
      return { expires_at: later(60_000), parts: numbers.map((n) => ({ part_number: n, url: `https://s3/${id}/${n}`, size: 0 })) };
    },
    async listParts(id) {
      calls.push(`list-parts ${id}`);
      const entry = find(id);
      pendingOnly(entry);
      const parts = partList(entry);
      return { ...plan(entry.record), parts, bytes_confirmed: parts.reduce((sum, part) => sum + part.size, 0) };
    },
    async complete(id) {
      calls.push(`complete ${id}`);
      const entry = find(id);
      if (entry.record.status !== "pending") return { ...entry.record };
      if (entry.record.upload_method === "multipart") {
        const { part_count: count } = plan(entry.record);
        const missing = [];
        for (let n = 1; n <= count; n += 1) if (!entry.parts.has(n)) missing.push(n);
        if (missing.length) throw new ApiError(409, { detail: `Parts not uploaded yet: ${missing.join(", ")}.`, status: "pending" });
        entry.object = [...entry.parts.values()].reduce((a, b) => a + b, 0);
      }
      if (entry.object === null) throw new ApiError(409, { detail: "The bucket holds no file for this upload yet.", status: "pending" });
      entry.record.status = "uploaded";
      return { ...entry.record, download_url: `https://s3/${id}?signed` };
    },
    async abort(id) {
      calls.push(`abort ${id}`);
      const entry = find(id);
      if (entry.record.status === "aborted") return { ...entry.record };
      pendingOnly(entry);
      entry.parts.clear();
      entry.object = null;
      entry.record.status = "aborted";
      return { ...entry.record };
    },
    async listPending() {
      calls.push("list-pending");
      const results = [...records.values()].map((entry) => ({ ...entry.record })).filter((r) => r.status === "pending");
      return { results: results.reverse() };
    },
  };

  async function postFile({ url, file, onProgress, signal }) {
    calls.push("POST");
    await hooks.beforePost();
    if (signal?.aborted) throw new TransferError("stopped", { code: "Aborted" });
    onProgress(file.size, file.size);
    records.get(url.split("/").pop()).object = file.size;
  }

  async function putPart({ url, body, onProgress, signal }) {
    const [id, number] = url.split("/").slice(-2);
    calls.push(`PUT ${number}`);
    await hooks.beforePut(Number(number), signal);
    await tick();
    if (signal?.aborted) throw new TransferError("stopped", { code: "Aborted" });
    onProgress(body.size);
    records.get(id).parts.set(Number(number), body.size);
  }

  return { api, postFile, putPart, records, calls, hooks, pastDeadline };
}

/** A job wired to the fake server, a real queue and an in-memory resume store. */
function setup(server, { store = createResumeStore(null), jobs = [] } = {}) {
  const queue = createQueue({ concurrency: 2 });
  const config = readConfig({ multipartThreshold: 10, partSize: 5, parallelParts: 2 });
  const make = (file) => {
    const job = new UploadJob(file, {
      api: server.api,
      postFile: server.postFile,
      putPart: server.putPart,
      store,
      config,
      schedule: (task, options) => queue.add(task, options),
      busyIds: (self) => new Set(jobs.filter((other) => other !== self).map((other) => other.id).filter(Boolean)),
      wait: async () => {},
    });
    jobs.push(job);
    return job;
  };
  return { make, queue, store };
}

/** Resolve once the job's status is one of `statuses`. */
function until(job, ...statuses) {
  if (statuses.includes(job.status)) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = job.onChange(() => {
      if (statuses.includes(job.status)) {
        stop();
        resolve();
      }
    });
  });
}

test("a small file goes up as one POST and is verified", async () => {
  const server = fakeServer();
  const { make } = setup(server);
  const job = make(makeFile(8));
  const seen = [];
  job.onChange((changed, kind) => kind === "status" && seen.at(-1) !== changed.status && seen.push(changed.status));
  job.enqueue();
  await until(job, "uploaded", "failed");
  assert.equal(job.status, "uploaded");
  assert.deepEqual(seen, ["queued", "preparing", "uploading", "verifying", "uploaded"]);
  assert.deepEqual(server.calls, ["create", "POST", "complete r1"]);
  assert.equal(job.loaded, 8);
  assert.equal(job.id, "r1");
});

test("a large file goes up in parts, is remembered while it goes, and forgotten when done", async () => {
  const server = fakeServer();
  const { make, store } = setup(server);
  const file = makeFile(23);
  const job = make(file);
  let remembered = null;
  server.hooks.beforePut = async () => {
    remembered ??= store.get(file);
  };
  job.enqueue();
  await until(job, "uploaded", "failed");
  assert.equal(job.status, "uploaded", job.message);
  assert.equal(remembered, "r1");
  assert.equal(store.get(file), null);
  assert.deepEqual(
    server.calls.filter((call) => call.startsWith("PUT")).sort(),
    ["PUT 1", "PUT 2", "PUT 3", "PUT 4", "PUT 5"],
  );
  assert.equal([...server.records.get("r1").parts.values()].reduce((a, b) => a + b, 0), 23);
});

test("picking the same file again resumes its record and sends only the missing parts", async () => {
  const server = fakeServer();
  const store = createResumeStore(null);
  const file = makeFile(23);
  const first = setup(server, { store }).make(file);
  // The first page "crashes" after two parts: the later ones never finish.
  server.hooks.beforePut = async (number) => {
    if (number > 2) await new Promise(() => {});
  };
  first.enqueue();
  while (server.records.get("r1")?.parts.size !== 2) await tick();
  server.hooks.beforePut = async () => {};
  server.calls.length = 0;

  const second = setup(server, { store }).make(file);
  second.enqueue();
  await until(second, "uploaded", "failed");
  assert.equal(second.status, "uploaded", second.message);
  assert.equal(second.id, "r1");
  assert.ok(!server.calls.includes("create"));
  assert.deepEqual(server.calls.slice(0, 2), ["get r1", "list-parts r1"]);
  assert.deepEqual(server.calls.filter((call) => call.startsWith("PUT")).sort(), ["PUT 3", "PUT 4", "PUT 5"]);
});

test("a resumed record past its deadline is cancelled and the file starts a new upload", async () => {
  const server = fakeServer();
  const store = createResumeStore(null);
  const file = makeFile(23);
  const first = setup(server, { store }).make(file);
  server.hooks.beforePut = async (number) => {
    if (number > 2) await new Promise(() => {});
  };
  first.enqueue();
  while (server.records.get("r1")?.parts.size !== 2) await tick();
  server.hooks.beforePut = async () => {};
  server.pastDeadline.add("r1"); // a day later, say
  server.calls.length = 0;

  const second = setup(server, { store }).make(file);
  const notes = [];
  second.onChange((job) => notes.push(job.message));
  second.enqueue();
  await until(second, "uploaded", "failed");
  assert.equal(second.status, "uploaded", second.message);
  assert.equal(second.id, "r2");
  assert.equal(server.records.get("r1").record.status, "aborted");
  assert.deepEqual(server.calls.slice(0, 3), ["get r1", "list-parts r1", "sign 3,4,5"]);
  const aborted = server.calls.indexOf("abort r1");
  assert.ok(aborted > 0 && aborted < server.calls.indexOf("create"), server.calls.join(" | "));
  // Nothing more is asked for the refused record: the new one is sent whole.
  const afterwards = server.calls.slice(server.calls.indexOf("create"));
  assert.deepEqual(afterwards.filter((call) => call.startsWith("PUT")).sort(), ["PUT 1", "PUT 2", "PUT 3", "PUT 4", "PUT 5"]);
  assert.ok(notes.includes("The earlier upload ran out of time; starting it again."));
  assert.equal([...server.records.get("r2").parts.values()].reduce((a, b) => a + b, 0), 23);
});

test("a record refused twice for its deadline fails instead of looping", async () => {
  const server = fakeServer();
  const { make } = setup(server);
  const originalCreate = server.api.create;
  server.api.create = async (file) => {
    const created = await originalCreate(file);
    server.pastDeadline.add(created.id); // every new record is already too late (a broken clock)
    return created;
  };
  const job = make(makeFile(23));
  job.enqueue();
  await until(job, "uploaded", "failed");
  assert.equal(job.status, "failed");
  assert.equal(server.calls.filter((call) => call === "create").length, 2);
});

test("a remembered record that is no longer pending is forgotten and the file starts afresh", async () => {
  const server = fakeServer();
  const store = createResumeStore(null);
  const file = makeFile(23);
  const old = await server.api.create(file);
  await server.api.abort(old.id);
  store.remember(file, old.id);
  server.calls.length = 0;
  const job = setup(server, { store }).make(file);
  job.enqueue();
  await until(job, "uploaded", "failed");
  assert.equal(job.status, "uploaded");
  assert.equal(job.id, "r2");
  assert.deepEqual(server.calls.slice(0, 3), ["get r1", "list-pending", "create"]);
});

test("without localStorage the server's pending list finds the record", async () => {
  const server = fakeServer();
  const file = makeFile(23);
  const record = await server.api.create(file);
  server.records.get(record.id).parts.set(1, 5);
  server.calls.length = 0;
  const job = setup(server).make(file);
  job.enqueue();
  await until(job, "uploaded", "failed");
  assert.equal(job.status, "uploaded");
  assert.equal(job.id, record.id);
  assert.deepEqual(server.calls.slice(0, 2), ["list-pending", "list-parts r1"]);
  assert.equal(server.calls.filter((call) => call.startsWith("PUT")).length, 4);
});

test("a failed POST is retried on the same record: authorize, not a second create", async () => {
  const server = fakeServer();
  const { make } = setup(server);
  let refusals = 1;
  server.hooks.beforePost = async () => {
    if (refusals-- > 0) throw storageError(403, "<Error><Code>AccessDenied</Code><Message>Policy Condition failed</Message></Error>");
  };
  const job = make(makeFile(8));
  job.enqueue();
  await until(job, "failed");
  assert.match(job.message, /Storage refused the file/);
  assert.ok(job.canRetry && job.canCancel);
  job.retry();
  await until(job, "uploaded", "failed");
  assert.equal(job.status, "uploaded");
  assert.equal(server.records.size, 1);
  assert.deepEqual(server.calls, ["create", "POST", "authorize r1", "POST", "complete r1"]);
});

test("an expired POST policy is renewed without a failure", async () => {
  const server = fakeServer();
  let expired = 1;
  server.hooks.beforePost = async () => {
    if (expired-- > 0) throw storageError(403, "<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy expired.</Message></Error>");
  };
  const job = setup(server).make(makeFile(8));
  const messages = [];
  job.onChange((changed) => messages.push(changed.message));
  job.enqueue();
  await until(job, "uploaded", "failed");
  assert.equal(job.status, "uploaded");
  assert.ok(messages.includes("Upload permission expired. Renewing…"));
  assert.deepEqual(server.calls, ["create", "POST", "authorize r1", "POST", "complete r1"]);
});

test("network trouble is retried and said in words", async () => {
  const server = fakeServer();
  let losses = 2;
  server.hooks.beforePost = async () => {
    if (losses-- > 0) throw new TransferError("lost");
  };
  const job = setup(server).make(makeFile(8));
  const messages = [];
  job.onChange((changed) => messages.push(changed.message));
  job.enqueue();
  await until(job, "uploaded", "failed");
  assert.equal(job.status, "uploaded");
  assert.ok(messages.some((message) => message.startsWith("Connection lost. Retrying")));
  assert.equal(server.records.size, 1);
});

test("a server refusal ends the job with the API's own words and no retry loop", async () => {
  const server = fakeServer();
  server.api.create = async () => {
    throw new ApiError(400, { size: ["Files larger than 10 bytes are not accepted."] });
  };
  const job = setup(server).make(makeFile(8));
  job.enqueue();
  await until(job, "failed");
  assert.equal(job.message, "The server refused the file: Files larger than 10 bytes are not accepted.");
});

test("pause stops the parts; resume sends only the rest", async () => {
  const server = fakeServer();
  const { make } = setup(server);
  // Parts 3 and later hang until aborted, as an XHR does on a slow line.
  server.hooks.beforePut = async (number, signal) => {
    if (number >= 3) await new Promise((resolve) => signal.addEventListener("abort", resolve));
  };
  const job = make(makeFile(23));
  job.enqueue();
  while (server.records.get("r1")?.parts.size !== 2) await tick();
  assert.ok(job.canPause);
  job.pause();
  assert.equal(job.status, "paused");
  await job.running;
  assert.equal(job.status, "paused");
  assert.ok(job.canResume && !job.canPause);
  server.hooks.beforePut = async () => {};
  server.calls.length = 0;
  job.resume();
  await until(job, "uploaded", "failed");
  assert.equal(job.status, "uploaded", job.message);
  assert.deepEqual(server.calls.filter((call) => call.startsWith("PUT")).sort(), ["PUT 3", "PUT 4", "PUT 5"]);
});

test("complete finding parts missing sends them and completes", async () => {
  const server = fakeServer();
  const job = setup(server).make(makeFile(23));
  let dropped = false;
  const complete = server.api.complete;
  server.api.complete = async (id) => {
    if (!dropped) {
      dropped = true;
      server.records.get(id).parts.delete(4); // S3 lost a part (or it never really arrived)
    }
    return complete(id);
  };
  job.enqueue();
  await until(job, "uploaded", "failed");
  assert.equal(job.status, "uploaded", job.message);
  assert.equal(server.calls.filter((call) => call === "PUT 4").length, 2);
});

test("cancel aborts the transfer and the record", async () => {
  const server = fakeServer();
  server.hooks.beforePut = async (number, signal) => {
    if (number >= 2) await new Promise((resolve) => signal.addEventListener("abort", resolve));
  };
  const file = makeFile(23);
  const { make, store } = setup(server);
  const job = make(file);
  job.enqueue();
  await until(job, "uploading");
  while (!server.calls.includes("PUT 2")) await tick();
  await job.cancel();
  assert.equal(job.status, "aborted");
  assert.equal(server.records.get("r1").record.status, "aborted");
  assert.equal(server.records.get("r1").parts.size, 0);
  assert.equal(store.get(file), null);
});

test("cancel while the record is being made still aborts that record", async () => {
  const server = fakeServer();
  let answer;
  const create = server.api.create;
  server.api.create = (file) => new Promise((resolve) => (answer = () => resolve(create(file))));
  const job = setup(server).make(makeFile(8));
  job.enqueue();
  await until(job, "preparing");
  await tick();
  const cancelling = job.cancel();
  answer();
  await cancelling;
  assert.equal(job.status, "aborted");
  assert.equal(server.records.get("r1").record.status, "aborted");
  assert.ok(!server.calls.includes("POST"));
});

test("a queued job cancelled before it starts sends nothing", async () => {
  const server = fakeServer();
  const { make } = setup(server);
  const job = make(makeFile(8));
  job.enqueue();
  await job.cancel();
  await tick();
  assert.equal(job.status, "aborted");
  assert.deepEqual(server.calls, []);
});

test("retrying a record the server has closed starts a new one", async () => {
  const server = fakeServer();
  const job = setup(server).make(makeFile(8));
  server.hooks.beforePost = async () => {
    await server.api.abort("r1"); // cancelled in another tab
    throw storageError(403, "<Error><Code>AccessDenied</Code></Error>");
  };
  job.enqueue();
  await until(job, "failed");
  server.hooks.beforePost = async () => {};
  job.retry();
  await until(job, "uploaded", "failed", "aborted");
  // authorize answers 409 aborted: the page shows it, and a second retry makes a fresh record.
  assert.equal(job.status, "aborted");
  assert.equal(job.canRetry, false);
});
