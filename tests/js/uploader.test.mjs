// The uploader core's front door, as the page uses it: the server's limits checked before any
// request, files a few at a time, and one record per upload even for the same file picked twice.
import assert from "node:assert/strict";
import { test } from "node:test";

import { bytesOf, countPostsInFlight, fakeServer, makeFile, tick } from "./support/fake-server.mjs";
import { setup, testConfig, until } from "./support/harness.mjs";

test("files breaking the limits are refused by the page without a single request", async () => {
  const server = fakeServer();
  /** @type {string[]} */
  const requests = [];
  /** @type {typeof globalThis.fetch} */
  const fetch = (url, init) => {
    requests.push(`${init?.method ?? "GET"} ${url}`);
    return server.fetch(url, init);
  };
  const config = testConfig({ maxBytes: 1024, allowedTypes: ["video/mp4", "audio/*"], acceptedSummary: "video (MP4), audio" });
  const { uploader } = setup(server, { config, fetch });
  const [notes, huge, empty] = uploader.add([
    makeFile(11, "notes.txt", "text/plain"),
    makeFile(1025, "huge.mp4"),
    makeFile(0, "empty.mp4"),
  ]);
  await tick();
  await tick();
  assert.equal(notes.snapshot.status, "rejected");
  assert.equal(notes.snapshot.message, "Files of type text/plain are not accepted. Accepted: video (MP4), audio.");
  assert.equal(huge.snapshot.status, "rejected");
  assert.equal(huge.snapshot.message, "Too large: 1.0 KB. The limit is 1.0 KB.");
  assert.equal(empty.snapshot.message, "This file is empty.");
  assert.equal(requests.length, 0);
  assert.deepEqual(server.calls, []);
  assert.equal(uploader.busy(), false);

  // Within the limits, a file goes: a pattern matches a subtype, an exact type only itself.
  const [song] = uploader.add([makeFile(8, "song.mp3", "audio/mpeg")]);
  assert.equal((await until(song, "uploaded", "failed")).status, "uploaded");
  assert.deepEqual(
    requests.map((request) => request.split(" ")[0]),
    ["POST", "POST"],
  );
});

test("the same file picked twice while it uploads makes two uploads, each on its own record", async () => {
  const server = fakeServer();
  /** @type {(value?: unknown) => void} */
  let release = () => {};
  const gate = new Promise((resolve) => (release = resolve));
  server.hooks.beforePut = async () => gate; // the first upload is still going when it is picked again
  const { uploader, store } = setup(server);
  const file = makeFile(23, "Lecture.mp4");
  const [first] = uploader.add([file]);
  while (!server.calls.includes("PUT 1")) await tick();
  assert.equal(store.get(file), "r1", "the first upload is remembered for resuming");

  const [second] = uploader.add([file]);
  while (!second.snapshot.id) await tick();
  release();
  const [one, two] = await Promise.all([until(first, "uploaded", "failed"), until(second, "uploaded", "failed")]);
  assert.equal(one.status, "uploaded", one.message);
  assert.equal(two.status, "uploaded", two.message);
  assert.deepEqual([one.id, two.id], ["r1", "r2"]);
  // Each looked for a record to resume first. The second was remembered as r1, but r1 is held by
  // the first: it was neither asked for nor taken from the pending list, and a new one was made.
  assert.deepEqual(
    server.calls.filter((call) => /^(get|list|create)/.test(call)),
    ["list-pending", "create", "list-pending", "create"],
  );
  // Neither drove the other's record: each got all five parts once, and holds the whole file.
  for (const id of ["r1", "r2"]) {
    assert.equal(server.calls.filter((call) => call === `complete ${id}`).length, 1);
    assert.deepEqual([...(server.entry(id).object ?? [])], await bytesOf(file));
  }
  assert.equal(server.calls.filter((call) => call.startsWith("PUT")).length, 10);
  assert.equal(store.get(file), null, "both finished: nothing is left to resume");
});

test("a record another upload holds is never chosen from the pending list either", async () => {
  const server = fakeServer();
  server.hooks.beforePut = () => new Promise(() => {}); // uploads stay in flight
  const { uploader, store } = setup(server);
  const file = makeFile(23);
  const [first] = uploader.add([file]);
  while (!first.snapshot.id) await tick();
  store.forget(file, "r1"); // as if localStorage were cleared: only the server's list remains
  const [second] = uploader.add([file]);
  while (!second.snapshot.id) await tick();
  assert.equal(second.snapshot.id, "r2");
});

test("no more files go up at once than the server's parallelFiles", async () => {
  const server = fakeServer();
  const posts = countPostsInFlight(server);
  const { uploader } = setup(server, { config: testConfig({ parallelFiles: 2 }) });
  const uploads = uploader.add([1, 2, 3, 4, 5].map((n) => makeFile(8, `f${n}.mp4`)));
  assert.equal(uploader.busy(), true);
  await Promise.all(uploads.map((upload) => until(upload, "uploaded")));
  assert.equal(posts.most(), 2);
  assert.equal(uploader.busy(), false);
  assert.equal(uploader.uploads().length, 5);
});
