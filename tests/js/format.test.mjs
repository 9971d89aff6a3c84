// The page's number formats, and what a preview says of a file.
import assert from "node:assert/strict";
import { test } from "node:test";

import { formatBytes, formatClock, percent } from "../../uploads/static/uploads/core/format.js";
import { mediaKind, mediaMeta } from "../../uploads/static/uploads/ui/media.js";

test("formatBytes matches the admin's 1024-based sizes", () => {
  assert.equal(formatBytes(1), "1 byte");
  assert.equal(formatBytes(1023), "1023 bytes");
  assert.equal(formatBytes(2048), "2.0 KB");
  assert.equal(formatBytes(3 * 1024 * 1024 + 17), "3.0 MB");
  assert.equal(formatBytes(5 * 1024 ** 3), "5.0 GB");
  assert.equal(formatBytes(5 * 1024 ** 4), "5.0 TB");
  assert.equal(formatBytes(Number.POSITIVE_INFINITY), "no limit");
});

test("percent is whole, capped at 100 and safe for empty files", () => {
  assert.equal(percent(0, 10), 0);
  assert.equal(percent(5, 10), 50);
  assert.equal(percent(999, 1000), 99);
  assert.equal(percent(11, 10), 100);
  assert.equal(percent(0, 0), 0);
});

test("media durations read like a player's: m:ss, and h:mm:ss above an hour", () => {
  assert.equal(formatClock(0), "0:00");
  assert.equal(formatClock(3), "0:03");
  assert.equal(formatClock(4.6), "0:05");
  assert.equal(formatClock(754), "12:34");
  assert.equal(formatClock(3723), "1:02:03");
});

test("a file with no duration in its header shows none, never Infinity", () => {
  // MediaRecorder's WebM reports Infinity (or NaN) until it has been played through.
  assert.equal(formatClock(Number.POSITIVE_INFINITY), "");
  assert.equal(formatClock(Number.NaN), "");
  assert.equal(mediaMeta({ duration: Number.POSITIVE_INFINITY, width: 320, height: 240 }), "320×240");
  assert.equal(mediaMeta({ duration: Number.NaN }), "");
});

test("a preview says duration and picture size", () => {
  assert.equal(mediaMeta({ duration: 5, width: 320, height: 240 }), "0:05 · 320×240");
  assert.equal(mediaMeta({ duration: 3 }), "0:03");
  assert.equal(mediaMeta({ duration: 3, width: 0, height: 0 }), "0:03");
});

test("the kind of media comes from the content type", () => {
  assert.equal(mediaKind("image/png"), "image");
  assert.equal(mediaKind("VIDEO/webm"), "video");
  assert.equal(mediaKind("audio/wav"), "audio");
  assert.equal(mediaKind("text/plain"), null);
  assert.equal(mediaKind(""), null);
});
