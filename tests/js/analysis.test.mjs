// The server's analysis of an uploaded file, as the page reads it: the record's new keys become
// typed facts (analysis, metadata by kind, poster and thumbnail links, the field's check), a record
// is asked for again with backoff until what a caller waits for has settled, and what a row shows
// of it is worked out without a DOM.
import assert from "node:assert/strict";
import { test } from "node:test";

import { analysisOngoing, fieldChecking, followRecord } from "../../uploads/static/uploads/core/analysis.js";
import { readPage, readRecord } from "../../uploads/static/uploads/core/answers.js";
import { ContractError } from "../../uploads/static/uploads/core/errors.js";
import { metadataSummary } from "../../uploads/static/uploads/ui/media.js";
import { analysisModel } from "../../uploads/static/uploads/ui/present.js";
import { apiRefusal, protocol } from "./support/protocol.mjs";

/** @import { MediaRecord } from "../../uploads/static/uploads/core/answers.js" */

/** A record as GET /api/media/{id}/ answers it, not analysed; `fields` add or change keys. */
const wire = (/** @type {Record<string, unknown>} */ fields = {}) => ({
  id: "r1",
  key: "uploads/r1.mp4",
  filename: "clip.mp4",
  content_type: "video/mp4",
  size: 2048,
  status: "uploaded",
  upload_method: "post",
  bytes_confirmed: 2048,
  etag: '"abc"',
  failure_reason: "",
  created_at: "2026-11-30T09:00:00Z",
  uploaded_at: "2026-11-30T09:01:00Z",
  download_url: "https://s3.test/r1?signed",
  analysis: { status: "none", reason: null, detail: null },
  metadata: null,
  poster_url: null,
  thumbnail_url: null,
  field_check: null,
  ...fields,
});

const VIDEO = {
  kind: "video",
  container: "mov,mp4,m4a,3gp,3g2,mj2",
  width: 640,
  height: 360,
  rotation: 0,
  display_aspect_ratio: "16:9",
  duration: 10.0,
  duration_source: "header",
  frame_rate: 25,
  video_codec: "h264",
  audio_codec: "aac",
  has_audio: true,
  bit_rate: 412_000,
};
const AUDIO = {
  kind: "audio",
  container: "wav",
  duration: 3.0,
  duration_source: "header",
  codec: "pcm_s16le",
  sample_rate: 44_100,
  channels: 1,
  bit_rate: 705_600,
};
const IMAGE = { kind: "image", format: "PNG", width: 800, height: 600, rotation: 0, orientation: "landscape", animated: false, frames: 1 };

const read = (/** @type {Record<string, unknown>} */ fields) => readRecord(wire(fields), protocol);

// ---------------------------------------------------------------- the record's new keys

test("an analysed video reads as typed facts: analysis, metadata, poster and thumbnail, field check", () => {
  const record = read({
    analysis: { status: "done", reason: null, detail: null },
    metadata: VIDEO,
    poster_url: "https://s3.test/r1-poster?signed",
    thumbnail_url: "https://s3.test/r1-thumb?signed",
    field_check: { status: "refused", message: "This file is 10 seconds long; files here may be at most 5 seconds." },
  });
  assert.deepEqual(record.analysis, { status: "done", reason: null, detail: null, final: true, failed: false });
  assert.deepEqual(record.metadata, VIDEO);
  assert.equal(record.poster_url, "https://s3.test/r1-poster?signed");
  assert.equal(record.thumbnail_url, "https://s3.test/r1-thumb?signed");
  assert.deepEqual(record.field_check, {
    status: "refused",
    message: "This file is 10 seconds long; files here may be at most 5 seconds.",
    final: true,
    refused: true,
  });
});

test("audio and image metadata read by their kind; unknown figures are null, never NaN", () => {
  assert.deepEqual(read({ metadata: AUDIO }).metadata, AUDIO);
  assert.deepEqual(read({ metadata: IMAGE }).metadata, IMAGE);
  const unknown = read({ metadata: { ...VIDEO, duration: null, frame_rate: null, bit_rate: null, display_aspect_ratio: null } }).metadata;
  assert.equal(unknown?.kind === "video" && unknown.duration, null);
  assert.equal(unknown?.kind === "video" && unknown.frame_rate, null);
});

test("a record still being analysed reads with nothing found yet; the protocol table says what is final", () => {
  const pending = read({
    analysis: { status: "pending", reason: null, detail: null },
    metadata: null,
    poster_url: null,
    thumbnail_url: null,
    field_check: { status: "checking", message: null },
  });
  assert.deepEqual(pending.analysis, { status: "pending", reason: null, detail: null, final: false, failed: false });
  assert.equal(pending.metadata, null);
  assert.equal(pending.thumbnail_url, null);
  assert.deepEqual(pending.field_check, { status: "checking", message: null, final: false, refused: false });
  assert.deepEqual(read({ field_check: { status: "accepted", message: null } }).field_check, {
    status: "accepted",
    message: null,
    final: true,
    refused: false,
  });

  const none = read({ metadata: undefined, poster_url: undefined, thumbnail_url: undefined, field_check: undefined });
  assert.equal(none.analysis.status, "none");
  assert.equal(none.analysis.final, false, "not asked for yet: it may still be");
  assert.equal(none.metadata, null);
  assert.equal(none.poster_url, null);
  assert.equal(none.field_check, null);

  const failed = read({
    analysis: { status: "failed", reason: "unreadable", detail: "The file could not be read as the type it was uploaded as." },
  });
  assert.equal(failed.analysis.reason, "unreadable");
  assert.equal(failed.analysis.final && failed.analysis.failed, true);
  assert.match(failed.analysis.detail ?? "", /could not be read/);
});

test("metadata of a kind this page does not know is left out; a malformed analysis is refused", () => {
  assert.equal(read({ metadata: { kind: "document", pages: 3 } }).metadata, null);
  assert.throws(() => read({ analysis: { status: "thinking" } }), ContractError);
  assert.throws(() => read({ analysis: undefined }), ContractError, "every record says where its analysis stands");
  assert.throws(() => read({ field_check: { status: "maybe", message: null } }), ContractError);
  assert.throws(() => read({ metadata: { ...VIDEO, width: "wide" } }), ContractError);
  // A page of records reads each one the same way.
  const page = readPage({ count: 1, results: [wire({ metadata: IMAGE, thumbnail_url: "https://s3.test/t" })] }, protocol);
  assert.equal(page.results[0].thumbnail_url, "https://s3.test/t");
});

// ---------------------------------------------------------------- in words

test("what analysis found reads like a local preview: duration and picture size", () => {
  assert.equal(metadataSummary(read({ metadata: VIDEO }).metadata), "0:10 · 640×360");
  assert.equal(metadataSummary(read({ metadata: IMAGE }).metadata), "800×600");
  assert.equal(metadataSummary(read({ metadata: AUDIO }).metadata), "0:03");
  assert.equal(metadataSummary(read({ metadata: { ...VIDEO, duration: null } }).metadata), "640×360");
  assert.equal(metadataSummary(null), "");
});

test("a row shows the server's thumbnail (else the poster) and figures, and a quiet note when analysis failed", () => {
  const done = analysisModel(
    read({
      analysis: { status: "done", reason: null, detail: null },
      metadata: VIDEO,
      poster_url: "https://s3.test/poster",
      thumbnail_url: "https://s3.test/thumb",
    }),
  );
  assert.deepEqual(done, { image: "https://s3.test/thumb", meta: "0:10 · 640×360", note: "" });
  assert.equal(analysisModel(read({ poster_url: "https://s3.test/poster" })).image, "https://s3.test/poster");
  assert.deepEqual(analysisModel(read({ analysis: { status: "pending", reason: null, detail: null } })), {
    image: null,
    meta: "",
    note: "",
  });
  assert.deepEqual(
    analysisModel(read({ analysis: { status: "failed", reason: "timeout", detail: "Analysing the file took too long." } })),
    {
      image: null,
      meta: "",
      note: "Not analysed. Analysing the file took too long.",
    },
  );
});

// ---------------------------------------------------------------- asking again

/** A clock whose sleeps pass at once, noting each. */
function quickClock() {
  let time = 1_000_000;
  /** @type {number[]} */
  const slept = [];
  return {
    slept,
    now: () => time,
    sleep: async (/** @type {number} */ ms, /** @type {AbortSignal | undefined} */ signal) => {
      signal?.throwIfAborted();
      slept.push(ms);
      time += ms;
    },
  };
}

/** `get` answering each of `answers` in turn (an Error is thrown), then the last one for ever. */
function scripted(/** @type {(MediaRecord | Error)[]} */ answers) {
  let asked = 0;
  const get = async () => {
    const answer = answers[Math.min(asked, answers.length - 1)];
    asked += 1;
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { get, asked: () => asked };
}

const analysing = (/** @type {string} */ status, fields = {}) => read({ analysis: { status, reason: null, detail: null }, ...fields });

test("a record is asked for again, half a second, then twice as long each time up to 2 s, until analysed", async () => {
  const clock = quickClock();
  const done = analysing("done", { metadata: VIDEO, thumbnail_url: "https://s3.test/thumb" });
  const { get, asked } = scripted([analysing("pending"), analysing("running"), analysing("running"), analysing("running"), done]);
  /** @type {string[]} */
  const seen = [];
  const followed = await followRecord(analysing("pending"), {
    get,
    waiting: analysisOngoing,
    clock,
    onRecord: (record) => seen.push(record.analysis.status),
  });
  assert.deepEqual(followed, { record: done, settled: true });
  assert.deepEqual(clock.slept, [500, 1000, 2000, 2000, 2000]);
  assert.equal(asked(), 5);
  assert.deepEqual(seen, ["pending", "running", "running", "running", "done"]);
});

test("a record already settled is not asked for at all", async () => {
  const clock = quickClock();
  const { get, asked } = scripted([]);
  const record = read({ field_check: { status: "accepted", message: null } });
  assert.deepEqual(await followRecord(record, { get, waiting: fieldChecking, clock }), { record, settled: true });
  assert.equal(asked(), 0);
  assert.deepEqual(clock.slept, []);
});

test("it gives up after two minutes, with the last record read", async () => {
  const clock = quickClock();
  const checking = read({ field_check: { status: "checking", message: null } });
  const { get, asked } = scripted([checking]);
  const followed = await followRecord(checking, { get, waiting: fieldChecking, clock });
  assert.equal(followed.settled, false);
  assert.equal(followed.record, checking);
  const waited = clock.slept.reduce((sum, ms) => sum + ms, 0);
  assert.ok(waited <= 120_000 && waited > 118_000, `waited ${waited} ms`);
  assert.equal(asked(), clock.slept.length);
});

test("a look that fails for a while is only missed; one the server refuses for good ends it", async () => {
  const clock = quickClock();
  const refused = read({ field_check: { status: "refused", message: "Too long." } });
  const checking = read({ field_check: { status: "checking", message: null } });
  const blips = scripted([apiRefusal(0), apiRefusal(503, { detail: "Busy." }), refused]);
  assert.deepEqual(await followRecord(checking, { get: blips.get, waiting: fieldChecking, clock }), { record: refused, settled: true });
  assert.equal(blips.asked(), 3);

  const gone = scripted([apiRefusal(404, { detail: "Not found.", code: "not_found" })]);
  assert.deepEqual(await followRecord(checking, { get: gone.get, waiting: fieldChecking, clock }), { record: checking, settled: false });
  assert.equal(gone.asked(), 1);
});

test("stopping it rejects with an AbortError and asks nothing more", async () => {
  const controller = new AbortController();
  const checking = read({ field_check: { status: "checking", message: null } });
  let asked = 0;
  const get = async () => {
    asked += 1;
    controller.abort();
    return checking;
  };
  await assert.rejects(followRecord(checking, { get, waiting: fieldChecking, clock: quickClock(), signal: controller.signal }), {
    name: "AbortError",
  });
  assert.equal(asked, 1);
});
