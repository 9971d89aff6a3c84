// The page's views on a fake DOM: the upload list kept in step with real uploads (overall line,
// announcements, keyboard focus, previews only for files sent), the rows' local previews (every
// object URL released), and "My uploads" (links to each upload's page, lazy previews).
import assert from "node:assert/strict";
import { test } from "node:test";

import { overallParts, rateText } from "../../uploads/static/uploads/ui/present.js";
import { createPreviewer } from "../../uploads/static/uploads/ui/preview.js";
import { createRecentList } from "../../uploads/static/uploads/page/recent.js";
import { createTransferView } from "../../uploads/static/uploads/page/view.js";
import { fakeServer, makeFile, tick } from "./support/fake-server.mjs";
import { fakeDocument, now, visibleButtons } from "./support/fake-dom.mjs";
import { setup, testConfig, until } from "./support/harness.mjs";
import { apiRefusal, protocol } from "./support/protocol.mjs";

/**
 * @import { MediaRecord, RecordPage } from "../../uploads/static/uploads/core/answers.js"
 * @import { Frame } from "../../uploads/static/uploads/ui/frames.js"
 * @import { Previewer } from "../../uploads/static/uploads/ui/preview.js"
 * @import { FakeNode } from "./support/fake-dom.mjs"
 * @import { FakeServer } from "./support/fake-server.mjs"
 */

// ---------------------------------------------------------------- the upload list

/**
 * The page's wiring, as page/main.js does it, over a fake document.
 * @param {FakeServer} server
 * @param {{frame?: Frame, preview?: Previewer, config?: ReturnType<typeof testConfig>}} [options]
 */
function page(server, { frame = now, preview, config = testConfig() } = {}) {
  const doc = fakeDocument();
  const list = doc.createElement("ul");
  doc.body.append(list);
  const overall = { box: doc.createElement("div"), bar: doc.createElement("progress"), text: doc.createElement("span") };
  const announcer = doc.createElement("p");
  const { uploader } = setup(server, { config });
  /** @type {import("../../uploads/static/uploads/page/main.js").PageViewOptions} */
  const options = { list, overall, announcer, onAction: (upload, action) => upload.perform(action), frame, preview };
  const view = createTransferView(options);
  uploader.onAdd((upload) => view.add(upload));
  return { doc, list, overall, announcer, view, uploader };
}

/** The rows of the file called `name`. */
const rowsOf = (/** @type {FakeNode} */ list, /** @type {string} */ name) =>
  list.findAll("li.transfer").filter((row) => row.find(".name").textContent === name);

/** The one row of the file called `name`. */
function rowOf(/** @type {FakeNode} */ list, /** @type {string} */ name) {
  const [row, ...others] = rowsOf(list, name);
  assert.ok(row && !others.length, `one row for ${name}`);
  return row;
}

test("three files: rows follow their uploads, the overall line counts them, the last one says all is done", async () => {
  const server = fakeServer();
  const { list, overall, announcer, uploader } = page(server);
  const files = [makeFile(8, "a.mp4"), makeFile(23, "b.mp4"), makeFile(6, "c.mp4")];
  const uploads = uploader.add(files);
  assert.equal(overall.box.hidden, false);
  assert.match(overall.text.textContent, /^0 of 3 uploaded · 0%/);
  await Promise.all(uploads.map((upload) => until(upload, "uploaded")));
  for (const [index, file] of files.entries()) {
    const row = rowOf(list, file.name);
    assert.equal(row.dataset.status, "uploaded");
    assert.equal(row.dataset.id, uploads[index].snapshot.id);
    assert.equal(row.find(".percent").textContent, "100%");
    assert.equal(row.find(".state").textContent, "Uploaded");
    assert.deepEqual(visibleButtons(row), []);
  }
  assert.equal(overall.text.textContent, "3 of 3 uploaded · 100%");
  assert.equal(overall.box.dataset.complete, "true");
  assert.match(announcer.textContent, / uploaded\. All 3 files are uploaded\.$/);
});

test("a file breaking the limits is refused in words, announced, and offers no button", async () => {
  const server = fakeServer();
  const { list, announcer, uploader } = page(server, { config: testConfig({ maxBytes: 1024 }) });
  uploader.add([makeFile(1025, "huge.mp4")]);
  const row = rowOf(list, "huge.mp4");
  assert.equal(row.dataset.status, "rejected");
  assert.equal(row.find(".message").textContent, "Too large: 1.0 KB. The limit is 1.0 KB.");
  assert.equal(announcer.textContent, "huge.mp4: Too large: 1.0 KB. The limit is 1.0 KB.");
  assert.deepEqual(visibleButtons(row), []);
  assert.equal(row.find("progress").hidden, true);
});

test("pausing from the keyboard moves focus to the Resume button that replaces Pause", async () => {
  const server = fakeServer();
  server.hooks.beforePut = async (number, signal) => {
    if (number >= 3) await new Promise((resolve) => signal.addEventListener("abort", resolve));
  };
  const { doc, list, announcer, uploader } = page(server);
  const [upload] = uploader.add([makeFile(23, "Rehearsal.mov")]);
  while (server.records.get("r1")?.parts.size !== 2) await tick();
  const row = rowOf(list, "Rehearsal.mov");
  assert.deepEqual(visibleButtons(row), ["Pause", "Cancel"]);
  const [pause] = row.findAll("button").filter((button) => button.ownText === "Pause");
  pause.focus();
  pause.click();
  assert.equal(upload.snapshot.status, "paused");
  assert.equal(row.find(".state").textContent, "Paused");
  assert.equal(announcer.textContent, "Rehearsal.mov paused.");
  const focused = doc.activeElement;
  assert.equal(focused?.ownText, "Resume");
  server.hooks.beforePut = async () => {};
  focused.click();
  await until(upload, "uploaded");
});

test("progress is drawn once a frame, with speed and time left while bytes move", async () => {
  const frames = [];
  const server = fakeServer();
  const { list, uploader } = page(server, { frame: (callback) => frames.push(callback) });
  const [upload] = uploader.add([makeFile(23)]);
  let events = 0;
  upload.subscribe((snapshot, change) => (events += change === "progress" ? 1 : 0));
  await until(upload, "uploaded");
  // No frame has come yet: many progress events wait as one drawing (plus the overall line and
  // the announcement).
  assert.ok(events >= 8, `${events} progress events`);
  assert.equal(frames.length, 3);
  assert.equal(list.find("li.transfer").find(".percent").textContent, "100%", "a status change draws at once");
  assert.equal(rateText({ status: "uploading", loaded: 1 << 20, total: 11 << 20, speed: 1 << 20 }), "1.0 MB/s · about 10 s left");
  assert.equal(rateText({ status: "paused", loaded: 1 << 20, total: 11 << 20, speed: 1 << 20 }), "");
  assert.equal(rateText({ status: "uploading", loaded: 1, total: 2, speed: 0 }), "");
});

test("the overall line reads like the page's: done, percent, speed, time left", () => {
  assert.equal(
    overallParts({ done: 1, count: 3, percent: 45, speed: 3 * 1024 * 1024, secondsLeft: 20 }).join(" · "),
    "1 of 3 uploaded · 45% · 3.0 MB/s · about 20 s left",
  );
  assert.equal(overallParts({ done: 3, count: 3, percent: 100, speed: 0, secondsLeft: null }).join(" · "), "3 of 3 uploaded · 100%");
});

test("previews start for files that are sent, never for refused ones, and are released with their row", async () => {
  const server = fakeServer();
  /** @type {(() => void)[]} */
  const frames = [];
  /** @type {string[]} */
  const started = [];
  /** @type {string[]} */
  const released = [];
  /** @type {Previewer} */
  const preview = (file, slots) => {
    started.push(file.name);
    assert.equal(slots.img.className, "preview");
    assert.equal(slots.meta.className, "preview-meta");
    return { dispose: () => released.push(file.name) };
  };
  const { list, view, uploader } = page(server, {
    frame: (callback) => frames.push(callback),
    preview,
    config: testConfig({ allowedTypes: ["video/*"] }),
  });
  const [sent] = uploader.add([makeFile(8, "clip.mp4"), makeFile(8, "notes.txt", "text/plain")]);
  for (const callback of frames.splice(0)) callback();
  assert.deepEqual(started, ["clip.mp4"]);
  await until(sent, "uploaded");
  view.remove(sent);
  assert.deepEqual(released, ["clip.mp4"]);
  assert.deepEqual(rowsOf(list, "clip.mp4"), []);
  assert.ok(rowOf(list, "notes.txt"));
});

// ---------------------------------------------------------------- local previews

/** Object URLs that know which are still alive. */
function fakeUrls() {
  let made = 0;
  /** @type {Set<string>} */
  const live = new Set();
  return {
    live,
    createObjectURL: () => {
      const url = `blob:test/${(made += 1)}`;
      live.add(url);
      return url;
    },
    revokeObjectURL: (/** @type {string} */ url) => void live.delete(url),
  };
}

/** A previewer over a fake document, the row's slots, and the media element it makes (if any). */
function preview(/** @type {File} */ file, { videoWidth = 320, videoHeight = 240, duration = 5 } = {}) {
  const doc = fakeDocument();
  /** @type {FakeNode[]} */
  const made = [];
  const create = doc.createElement.bind(doc);
  doc.createElement = (tag) => {
    const element = create(tag);
    if (tag === "video" || tag === "audio") {
      Object.assign(element, { duration, videoWidth: tag === "video" ? videoWidth : 0, videoHeight: tag === "video" ? videoHeight : 0 });
      made.push(element);
    }
    return element;
  };
  const urls = fakeUrls();
  const img = doc.createElement("img");
  img.hidden = true;
  const meta = doc.createElement("span");
  meta.hidden = true;
  const shown = createPreviewer({ document: doc, urls })(file, { img, meta });
  return { doc, urls, img, meta, media: made[0], shown };
}

const fire = (/** @type {EventTarget} */ element, /** @type {string} */ type) => element.dispatchEvent(new Event(type));

test("a video shows its first frame, its duration and picture size, and lets its file go", () => {
  const { doc, urls, img, meta, media } = preview(new File(["x"], "clip.webm", { type: "video/webm" }));
  assert.equal(media.tagName, "VIDEO");
  assert.equal(media.muted, true);
  assert.equal(urls.live.size, 1);
  fire(media, "loadedmetadata");
  assert.equal(meta.textContent, "0:05 · 320×240");
  assert.equal(meta.hidden, false);
  fire(media, "loadeddata");
  assert.equal(doc.drawn.length, 1, "the frame was drawn to a canvas");
  assert.match(img.src, /^data:image\/jpeg/);
  assert.equal(img.hidden, false);
  assert.equal(urls.live.size, 0, "the video's object URL is released once its frame is drawn");
});

test("a recorded WebM without a duration shows its size only, never Infinity", () => {
  const { meta, media } = preview(new File(["x"], "take.webm", { type: "video/webm" }), { duration: Number.POSITIVE_INFINITY });
  fire(media, "loadedmetadata");
  assert.equal(meta.textContent, "320×240");
});

test("audio shows its duration and no thumbnail", () => {
  const { urls, img, meta, media } = preview(new File(["x"], "tone.wav", { type: "audio/wav" }), { duration: 3 });
  assert.equal(media.tagName, "AUDIO");
  fire(media, "loadedmetadata");
  assert.equal(meta.textContent, "0:03");
  assert.equal(img.hidden, true);
  assert.equal(urls.live.size, 0);
});

test("an image is its own thumbnail, kept while the row is shown and released with it", () => {
  const { urls, img, meta, shown } = preview(new File(["x"], "still.png", { type: "image/png" }));
  assert.match(img.src, /^blob:test\//);
  fire(img, "load");
  assert.equal(img.hidden, false);
  assert.equal(meta.hidden, true);
  assert.equal(urls.live.size, 1);
  shown.dispose();
  assert.equal(urls.live.size, 0);
});

test("a file that cannot be read, or a row gone before it was, leaves no URL behind", () => {
  const broken = preview(new File(["x"], "bad.mp4", { type: "video/mp4" }));
  fire(broken.media, "error");
  assert.equal(broken.urls.live.size, 0);
  assert.equal(broken.img.hidden, true);

  const early = preview(new File(["x"], "clip.webm", { type: "video/webm" }));
  early.shown.dispose();
  assert.equal(early.urls.live.size, 0);

  const other = preview(new File(["x"], "notes.txt", { type: "text/plain" }));
  assert.equal(other.media, undefined);
  assert.equal(other.urls.live.size, 0);
});

// ---------------------------------------------------------------- "My uploads"

/**
 * An uploaded record of `content_type`, as the API lists it; `fields` change it.
 * @param {string} id
 * @param {string} content_type
 * @param {Partial<MediaRecord>} [fields]
 * @returns {MediaRecord}
 */
const record = (id, content_type, fields = {}) => ({
  id,
  key: `uploads/${id}`,
  filename: `${id}.file`,
  content_type,
  size: 2048,
  status: "uploaded",
  upload_method: "post",
  bytes_confirmed: 2048,
  etag: "",
  failure_reason: "",
  created_at: "2026-11-30T09:00:00Z",
  uploaded_at: "2026-11-30T10:00:00Z",
  download_url: `https://s3.test/${id}?signed`,
  field_value: null,
  ...fields,
});

/** The list over a fake table, loaded once with `load`. */
async function shown(/** @type {() => Promise<RecordPage>} */ load) {
  const doc = fakeDocument();
  const table = doc.createElement("table");
  const body = doc.createElement("tbody");
  table.append(body);
  createRecentList({ body, load, uploadsPage: "/uploads/", protocol }).refresh(0);
  await new Promise((resolve) => setTimeout(resolve, 5));
  return { table, body };
}

test("each record links to its own page; pictures and videos get a lazy preview, audio none", async () => {
  const records = [
    record("pic", "image/png"),
    record("vid", "video/webm"),
    record("snd", "audio/wav"),
    record("wip", "video/mp4", { status: "pending", uploaded_at: null, download_url: null }),
  ];
  const { table, body } = await shown(async () => ({ count: 4, results: records }));
  const rows = body.findAll("tr");
  assert.deepEqual(
    rows.map((row) => [row.dataset.id, row.dataset.status]),
    [
      ["pic", "uploaded"],
      ["vid", "uploaded"],
      ["snd", "uploaded"],
      ["wip", "pending"],
    ],
  );
  for (const row of rows) {
    const link = row.find("a");
    assert.equal(link.href, `/uploads/${row.dataset.id}/`);
    assert.equal(link.textContent, `${row.dataset.id}.file`);
  }
  const [pic, vid, snd, wip] = rows;
  const img = pic.find("img");
  assert.equal(img.loading, "lazy");
  assert.equal(img.src, "https://s3.test/pic?signed");
  assert.equal(img.alt, "");
  const video = vid.find("video");
  assert.equal(video.preload, "metadata");
  assert.equal(video.muted, true);
  assert.equal(video.src, "https://s3.test/vid?signed");
  assert.deepEqual([...snd.findAll("img"), ...snd.findAll("video")], []);
  img.dispatchEvent(new Event("error")); // a lapsed link, or a picture the browser cannot show
  assert.equal(img.hidden, true);
  assert.deepEqual(wip.findAll("video"), [], "no preview before the file is verified");
  assert.equal(pic.find("td.status").textContent, "Uploaded");
  assert.equal(wip.find("td.status").textContent, "Not finished");
  assert.equal(table.getAttribute("aria-busy"), null);
});

test("no records, or a failed load, is said in words", async () => {
  const empty = await shown(async () => ({ count: 0, results: [] }));
  assert.equal(empty.body.textContent, "Nothing uploaded yet.");
  const failing = await shown(async () => {
    throw apiRefusal(0);
  });
  assert.match(failing.body.textContent, /^Could not load your uploads: Could not reach the server/);
});
