// Resume matching: fingerprints, this browser's memory (localStorage), choosing a pending record.
// (Resuming itself, against the server, is in upload.test.mjs.)
import assert from "node:assert/strict";
import { test } from "node:test";

import { createApi } from "../../uploads/static/uploads/core/api.js";
import { createClaims } from "../../uploads/static/uploads/core/claims.js";
import { chooseRecord, createResumeStore, findResumable, fingerprint } from "../../uploads/static/uploads/core/resume.js";
import { fakeServer, makeFile } from "./support/fake-server.mjs";
import { protocol } from "./support/protocol.mjs";
import { NOT_ANALYSED } from "./support/records.mjs";

/**
 * @import { MediaRecord } from "../../uploads/static/uploads/core/answers.js"
 * @import { Caller, ResumeDeps } from "../../uploads/static/uploads/core/resume.js"
 * @import { FakeServer } from "./support/fake-server.mjs"
 */

const file = { name: "Holiday.mp4", size: 41_943_040, lastModified: 1_700_000_000_000, type: "video/mp4" };

/** A Storage stand-in (getItem/setItem), optionally one that throws like a full or locked store. */
function fakeStorage({ broken = false } = {}) {
  /** @type {Map<string, string>} */
  const data = new Map();
  return {
    data,
    getItem: (/** @type {string} */ key) => {
      if (broken) throw new Error("SecurityError");
      return data.get(key) ?? null;
    },
    setItem: (/** @type {string} */ key, /** @type {string} */ value) => {
      if (broken) throw new Error("QuotaExceededError");
      data.set(key, String(value));
    },
  };
}

test("a fingerprint changes with name, size, date or type", () => {
  const base = fingerprint(file);
  assert.equal(fingerprint({ ...file }), base);
  for (const change of [{ name: "b.mp4" }, { size: 1 }, { lastModified: 1 }, { type: "video/webm" }]) {
    assert.notEqual(fingerprint({ ...file, ...change }), base);
  }
  assert.equal(fingerprint({ ...file, type: "VIDEO/MP4" }), base);
});

test("the store remembers, finds and forgets a record per file", () => {
  const storage = fakeStorage();
  const store = createResumeStore(storage);
  assert.equal(store.get(file), null);
  store.remember(file, "id-1");
  assert.equal(store.get(file), "id-1");
  // A second store over the same storage (a reloaded page) sees it too.
  assert.equal(createResumeStore(storage).get(file), "id-1");
  assert.equal(store.get({ ...file, size: 5 }), null);
  store.forget(file, "id-1");
  assert.equal(store.get(file), null);
});

test("forgetting a record leaves alone a newer one remembered for the same file", () => {
  const store = createResumeStore(fakeStorage());
  store.remember(file, "first");
  store.remember(file, "second"); // the same file picked again while the first went up
  store.forget(file, "first"); // the first finishes
  assert.equal(store.get(file), "second");
});

test("old entries expire and only the newest are kept", () => {
  let clock = 1_000;
  const storage = fakeStorage();
  const store = createResumeStore(storage, { maxEntries: 2, maxAgeMs: 500, now: () => clock });
  store.remember({ ...file, name: "a" }, "a");
  clock += 10;
  store.remember({ ...file, name: "b" }, "b");
  clock += 10;
  store.remember({ ...file, name: "c" }, "c");
  assert.equal(store.get({ ...file, name: "a" }), null);
  assert.equal(store.get({ ...file, name: "c" }), "c");
  clock += 1000;
  assert.equal(store.get({ ...file, name: "c" }), null);
});

test("a corrupt entry or a refusing localStorage never breaks the page", () => {
  const storage = fakeStorage();
  storage.setItem("mediaupload.resume.v1", "{not json");
  const store = createResumeStore(storage);
  assert.equal(store.get(file), null);
  store.remember(file, "id-2");
  assert.equal(store.get(file), "id-2");

  const locked = createResumeStore(fakeStorage({ broken: true }));
  locked.remember(file, "id-3");
  assert.equal(locked.get(file), null);
  const none = createResumeStore(null);
  none.remember(file, "id-4");
  assert.equal(none.get(file), "id-4"); // kept in memory for this page's life
});

/**
 * A pending multipart record of the file, as the server lists it; `fields` change it.
 * @param {string} id
 * @param {Partial<MediaRecord>} [fields]
 * @returns {MediaRecord}
 */
const record = (id, fields = {}) => ({
  id,
  key: `incoming/${id}.mp4`,
  filename: file.name,
  size: file.size,
  content_type: "video/mp4",
  status: "pending",
  upload_method: "multipart",
  bytes_confirmed: 0,
  etag: "",
  failure_reason: "",
  created_at: "2026-11-02T10:00:00Z",
  uploaded_at: null,
  download_url: null,
  field_value: null,
  ...NOT_ANALYSED,
  ...fields,
});

test("the newest pending multipart record with the same name, size and type is chosen", () => {
  const records = [
    record("old", { created_at: "2026-11-01T09:00:00Z" }),
    record("new", { created_at: "2026-11-02T09:00:00Z" }),
    record("done", { created_at: "2026-11-03T09:00:00Z", status: "uploaded" }),
    record("other-size", { created_at: "2026-11-03T09:00:00Z", size: 5 }),
    record("other-name", { created_at: "2026-11-03T09:00:00Z", filename: "x.mp4" }),
    record("other-type", { created_at: "2026-11-03T09:00:00Z", content_type: "video/webm" }),
    record("post", { created_at: "2026-11-03T09:00:00Z", upload_method: "post" }),
  ];
  assert.equal(chooseRecord(file, records, protocol).id, "new");
});

test("records another upload holds are skipped", () => {
  const records = [record("a", { created_at: "2026-11-02T00:00:00Z" }), record("b", { created_at: "2026-11-01T00:00:00Z" })];
  assert.equal(chooseRecord(file, records, protocol, new Set(["a"])).id, "b");
  assert.equal(chooseRecord(file, records, protocol, new Set(["a", "b"])), null);
  assert.equal(chooseRecord(file, [], protocol), null);
});

/** What findResumable works with, on `server`, remembering `remembered` for the file. */
function resuming(/** @type {FakeServer} */ server, /** @type {string} */ remembered) {
  const store = createResumeStore(null);
  const claims = createClaims();
  const api = createApi({ base: "/api/media/", csrfToken: "t", protocol, fetch: server.fetch });
  const holder = {};
  /** @type {Caller} */
  const call = (request, signal) => request(signal);
  /** @type {ResumeDeps} */
  const deps = { api, store, claims, protocol, holder, call };
  return { store, claims, holder, deps, remember: (/** @type {File} */ f) => store.remember(f, remembered) };
}

/** A fake server that holds one multipart record (r1) for a 23 MiB file. */
async function serverHoldingABigUpload() {
  const server = fakeServer();
  const big = makeFile(23);
  await server.fetch("/api/media/", {
    method: "POST",
    headers: { "X-CSRFToken": "t" },
    body: JSON.stringify({ filename: big.name, content_type: big.type, size: big.size }),
  });
  return { server, big };
}

test("a record whose parts cannot be listed (409) is not resumed, and is forgotten", async () => {
  const { server, big } = await serverHoldingABigUpload();
  server.override["list-parts"] = async ({ next }) => {
    await next();
    return server.refuse(409, "This upload is a single POST; it has no parts.", "not_multipart", { status: "pending" });
  };
  const { store, claims, deps, remember } = resuming(server, "r1");
  remember(big);
  const found = await findResumable(big, deps, new AbortController().signal);
  assert.equal(found, null, "nothing to resume: a new upload is made");
  assert.equal(store.get(big), null, "the stored id is forgotten");
  assert.equal(claims.has("r1"), false, "and no upload holds it");
  assert.ok(server.calls.includes("list-parts r1"));
});

test("trouble other than a refusal while listing parts is the upload's to retry; the id is kept", async () => {
  const { server, big } = await serverHoldingABigUpload();
  server.override["list-parts"] = async () => server.refuse(503, "Storage is down.", "storage_unavailable");
  const { store, claims, deps, remember } = resuming(server, "r1");
  remember(big);
  await assert.rejects(findResumable(big, deps, new AbortController().signal), { status: 503 });
  assert.equal(store.get(big), "r1");
  assert.equal(claims.has("r1"), false);
});
