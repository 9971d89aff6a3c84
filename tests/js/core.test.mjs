// The uploader core runs without a browser: every module in core/ loads, and files go up, under
// Node with no window, document, navigator, localStorage or location, the storage, the
// connectivity and the clock given. And no core module so much as names those globals, or
// imports anything from outside core/.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

const BROWSER_GLOBALS = ["window", "document", "navigator", "localStorage", "location"];
const CORE = new URL("../../uploads/static/uploads/core/", import.meta.url);
const modules = readdirSync(CORE)
  .filter((name) => name.endsWith(".js"))
  .sort();

// Newer Node versions define some of these (navigator, localStorage): take them away first.
for (const name of BROWSER_GLOBALS) {
  if (name in globalThis && !Reflect.deleteProperty(globalThis, name)) {
    Object.defineProperty(globalThis, name, { value: undefined, configurable: true });
  }
}

/** A module's code without its comments (so a comment may say "the browser's localStorage"). */
function code(/** @type {string} */ name) {
  const text = readFileSync(new URL(name, CORE), "utf8");
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

test("no browser global is defined here", () => {
  for (const name of BROWSER_GLOBALS) assert.equal(Reflect.get(globalThis, name), undefined, name);
});

test("every core module loads without a browser", async () => {
  assert.ok(modules.length >= 20, modules.join(", "));
  for (const name of modules) await import(new URL(name, CORE).href);
});

test("no core module names a browser global or imports from outside core/", () => {
  for (const name of modules) {
    const source = code(name);
    for (const global of BROWSER_GLOBALS) {
      assert.doesNotMatch(source, new RegExp(`\\b${global}\\b`), `${name} names ${global}`);
    }
    for (const [, target] of source.matchAll(/\bfrom\s+["']([^"']+)["']/g)) {
      assert.match(target, /^\.\/[\w-]+\.js$/, `${name} imports ${target}`);
    }
  }
});

test("files go up, in parts and as one POST, with storage, connectivity and clock given", async () => {
  const { createUploader } = await import("../../uploads/static/uploads/core/uploader.js");
  const { createApi } = await import("../../uploads/static/uploads/core/api.js");
  const { readConfig } = await import("../../uploads/static/uploads/core/config.js");
  const { createResumeStore } = await import("../../uploads/static/uploads/core/resume.js");
  const { createConnectivity } = await import("../../uploads/static/uploads/core/connectivity.js");
  const { STATES } = await import("../../uploads/static/uploads/core/states.js");
  const { fakeServer, makeFile } = await import("./support/fake-server.mjs");
  const { PROTOCOL_TABLE } = await import("./support/protocol.mjs");

  const server = fakeServer();
  const config = readConfig({ csrfToken: "t", multipartThreshold: 10, parallelParts: 2, protocol: PROTOCOL_TABLE });
  /** @type {Map<string, string>} */
  const saved = new Map();
  const storage = {
    getItem: (/** @type {string} */ key) => saved.get(key) ?? null,
    setItem: (/** @type {string} */ key, /** @type {string} */ value) => void saved.set(key, value),
  };
  let time = 1_700_000_000_000;
  const clock = { now: () => time, sleep: async (/** @type {number} */ ms) => void (time += ms) };
  const connectivity = createConnectivity({ isOffline: () => false, target: new EventTarget() });
  const uploader = createUploader({
    config,
    api: createApi({ base: "/api/media/", csrfToken: config.csrfToken, protocol: config.protocol, fetch: server.fetch }),
    postForm: server.postForm,
    putPart: server.putPart,
    store: createResumeStore(storage, { now: clock.now }),
    clock,
    connectivity,
  });
  /** @type {string[]} */
  const remembered = [];
  const uploads = uploader.add([makeFile(23, "large.mp4"), makeFile(8, "small.mp4")]);
  uploads[0].subscribe(() => {
    remembered.push(saved.get("mediaupload.resume.v1") ?? "");
  });
  const ends = await Promise.all(
    uploads.map(
      (upload) =>
        new Promise((resolve) => {
          const stop = upload.subscribe((snapshot) => {
            if (!STATES[snapshot.status].busy) {
              stop();
              resolve(snapshot);
            }
          });
        }),
    ),
  );
  assert.deepEqual(
    ends.map((end) => [end.file.name, end.status, end.loaded]),
    [
      ["large.mp4", "uploaded", 23],
      ["small.mp4", "uploaded", 8],
    ],
  );
  const id = uploads[0].snapshot.id;
  assert.ok(id && remembered.some((entry) => entry.includes(id)), "the large file was remembered in the storage given");
  assert.ok(!saved.get("mediaupload.resume.v1")?.includes(id), "and forgotten once uploaded");
  assert.equal(uploader.busy(), false);
});
