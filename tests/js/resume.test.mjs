// Resume matching: fingerprints, this browser's memory (localStorage), choosing a pending record.
// (Resuming itself, against the server, is in upload.test.mjs.)
import assert from "node:assert/strict";
import { test } from "node:test";

import { chooseRecord, createResumeStore, fingerprint } from "../../uploads/static/uploads/resume.js";

const file = { name: "Holiday.mp4", size: 41_943_040, lastModified: 1_700_000_000_000, type: "video/mp4" };

/** A Storage stand-in (getItem/setItem), optionally one that throws like a full or locked store. */
function fakeStorage({ broken = false } = {}) {
  const data = new Map();
  return {
    data,
    getItem: (key) => {
      if (broken) throw new Error("SecurityError");
      return data.has(key) ? data.get(key) : null;
    },
    setItem: (key, value) => {
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

const record = (id, fields = {}) => ({
  id,
  filename: file.name,
  size: file.size,
  content_type: "video/mp4",
  status: "pending",
  upload_method: "multipart",
  created_at: "2026-11-02T10:00:00Z",
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
  assert.equal(chooseRecord(file, records).id, "new");
});

test("records another upload holds are skipped", () => {
  const records = [record("a", { created_at: "2026-11-02T00:00:00Z" }), record("b", { created_at: "2026-11-01T00:00:00Z" })];
  assert.equal(chooseRecord(file, records, new Set(["a"])).id, "b");
  assert.equal(chooseRecord(file, records, new Set(["a", "b"])), null);
  assert.equal(chooseRecord(file, []), null);
});
