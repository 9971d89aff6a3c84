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
import { analysisOf, NOT_ANALYSED } from "./support/records.mjs";

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
  ...NOT_ANALYSED,
  ...fields,
});

const pause = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The time "now" for "My uploads": the records below were uploaded five minutes before. */
const NOW = Date.parse("2026-11-30T10:05:00Z");

/**
 * The list over a fake table, loaded once with `load` (and again after `followDelay` while a file
 * uploaded lately is to be analysed: never by default).
 * @param {() => Promise<RecordPage>} load
 * @param {(round: number) => number | null} [followDelay]
 */
async function shown(load, followDelay = () => null, now = NOW) {
  const doc = fakeDocument();
  const table = doc.createElement("table");
  const body = doc.createElement("tbody");
  table.append(body);
  const list = createRecentList({ body, load, uploadsPage: "/uploads/", protocol, followDelay, now: () => now });
  list.refresh(0);
  await pause(5);
  return { table, body, list };
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

// ---------------------------------------------------------------- what the server's analysis adds

/** The analysis facts of a record, as the API lists them. */
const analysed = (/** @type {MediaRecord["analysis"]["status"]} */ status, /** @type {Partial<MediaRecord>} */ fields = {}) => ({
  analysis: analysisOf(status),
  ...fields,
});

const VIDEO_FOUND = /** @type {const} */ ({
  kind: "video",
  container: "webm",
  width: 640,
  height: 360,
  rotation: 0,
  display_aspect_ratio: "16:9",
  duration: 10,
  duration_source: "header",
  frame_rate: 25,
  video_codec: "vp8",
  audio_codec: null,
  has_audio: false,
  bit_rate: null,
});

test("My uploads shows the server's thumbnail as a lazy picture, and what analysis found under the name", async () => {
  const records = [
    record("vid", "video/webm", analysed("done", { thumbnail_url: "https://s3.test/vid-thumb", metadata: VIDEO_FOUND })),
    record("pic", "image/png", {
      ...analysed("done", { thumbnail_url: "https://s3.test/pic-thumb" }),
      metadata: {
        kind: "image",
        format: "PNG",
        width: 800,
        height: 600,
        rotation: 0,
        orientation: "landscape",
        animated: false,
        frames: 1,
      },
    }),
    record(
      "snd",
      "audio/wav",
      analysed("done", { metadata: { ...VIDEO_FOUND, kind: "audio", codec: "pcm", sample_rate: 8000, channels: 1, duration: 3 } }),
    ),
    record("new", "video/mp4", analysed("pending")),
    record("bad", "video/mp4", analysed("failed")),
  ];
  const { body } = await shown(async () => ({ count: records.length, results: records }));
  const [vid, pic, snd, fresh, bad] = body.findAll("tr");
  const thumb = vid.find("img");
  assert.equal(thumb.src, "https://s3.test/vid-thumb");
  assert.equal(thumb.loading, "lazy");
  assert.equal(thumb.className, "thumb");
  assert.deepEqual(vid.findAll("video"), [], "no video element once there is a thumbnail");
  assert.equal(vid.find("span.meta").textContent, "0:10 · 640×360");
  assert.equal(pic.find("img").src, "https://s3.test/pic-thumb");
  assert.equal(pic.find("span.meta").textContent, "800×600");
  assert.equal(snd.find("span.meta").textContent, "0:03");
  assert.equal(fresh.find("video").src, "https://s3.test/new?signed", "the file itself until the thumbnail is made");
  assert.equal(fresh.find("span.meta").textContent, "Analysing…");
  assert.equal(fresh.dataset.analysis, "pending");
  assert.equal(bad.find("video").src, "https://s3.test/bad?signed");
  assert.deepEqual(bad.findAll("span.meta"), [], "nothing alarming when analysis failed");
});

test("while a file is being analysed the list is loaded again, less often, until it is done; rows that look the same stay", async () => {
  let loads = 0;
  /** @type {number[]} */
  const rounds = [];
  const old = record("old", "image/png", analysed("done", { thumbnail_url: "https://s3.test/old-thumb" }));
  const load = async () => {
    loads += 1;
    const done = loads >= 3;
    const fresh = record(
      "new",
      "video/webm",
      done
        ? analysed("done", { thumbnail_url: "https://s3.test/new-thumb", metadata: VIDEO_FOUND })
        : analysed(loads === 1 ? "pending" : "running"),
    );
    // Every answer signs new links: a row that would look the same is kept, link and all.
    return { count: 2, results: [fresh, { ...old, thumbnail_url: `https://s3.test/old-thumb?v=${loads}` }] };
  };
  const { body } = await shown(load, (round) => {
    rounds.push(round);
    return 1;
  });
  const firstOld = body.findAll("tr")[1];
  await pause(30);
  assert.equal(loads, 3, "loaded until the analysis was done, then no more");
  assert.deepEqual(rounds, [0, 1]);
  const [fresh, kept] = body.findAll("tr");
  assert.equal(fresh.find("img").src, "https://s3.test/new-thumb");
  assert.equal(fresh.find("span.meta").textContent, "0:10 · 640×360");
  assert.equal(kept, firstOld, "the unchanged row was kept");
  assert.equal(kept.find("img").src, "https://s3.test/old-thumb?v=1");
});

test("the list stops loading again when the follow-up rounds run out", async () => {
  let loads = 0;
  const load = async () => {
    loads += 1;
    return { count: 1, results: [record("new", "video/webm", analysed("running"))] };
  };
  await shown(load, (round) => (round < 2 ? 1 : null));
  await pause(30);
  assert.equal(loads, 3, "the first load and two follow-ups");
});

test("a file uploaded long ago whose analysis was never asked for is not waited for", async () => {
  let loads = 0;
  const load = async () => {
    loads += 1;
    return { count: 1, results: [record("old", "video/webm", analysed("none"))] };
  };
  const { body } = await shown(load, () => 1, NOW + 60 * 60 * 1000);
  await pause(20);
  assert.equal(loads, 1);
  assert.deepEqual(body.findAll("span.meta"), [], "nor said to be analysed");
  assert.equal(body.find("video").src, "https://s3.test/old?signed");
});

test("an uploaded row swaps in the server's thumbnail once it has loaded, with its figures; a failed one keeps the local preview", async () => {
  const server = fakeServer();
  const { list, view, uploader } = page(server);
  const [upload] = uploader.add([makeFile(8, "clip.mp4")]);
  await until(upload, "uploaded");
  const row = rowOf(list, "clip.mp4");
  const img = row.find("img.preview");
  const meta = row.find(".preview-meta");
  img.src = "data:image/jpeg;base64,LOCAL"; // the local first frame
  img.hidden = false;
  meta.textContent = "0:10";
  meta.hidden = false;
  const record = /** @type {MediaRecord} */ ({ ...upload.snapshot.record });

  view.analysed(upload, { ...record, ...analysed("pending") });
  assert.equal(img.src, "data:image/jpeg;base64,LOCAL", "nothing changes while it is analysed");
  assert.equal(row.find(".note").hidden, true);

  view.analysed(upload, { ...record, ...analysed("done", { thumbnail_url: "https://s3.test/thumb", metadata: VIDEO_FOUND }) });
  assert.equal(img.src, "https://s3.test/thumb");
  img.dispatchEvent(new Event("load"));
  assert.equal(img.hidden, false);
  assert.equal(meta.textContent, "0:10 · 640×360");

  // A thumbnail that cannot be shown gives the local preview back.
  view.analysed(upload, { ...record, ...analysed("done", { thumbnail_url: "https://s3.test/lapsed" }) });
  img.dispatchEvent(new Event("error"));
  assert.equal(img.src, "https://s3.test/thumb");
  assert.equal(img.hidden, false);

  view.analysed(upload, {
    ...record,
    analysis: analysisOf("failed", { reason: "timeout", detail: "Analysing the file took longer than the time limit." }),
  });
  const note = row.find(".note");
  assert.equal(note.hidden, false);
  assert.equal(note.textContent, "Not analysed. Analysing the file took longer than the time limit.");
  assert.equal(row.dataset.tone, "ok", "the upload itself is still fine");
});
