// Unit tests for the page's config defaults and the limits checked before any request.
import assert from "node:assert/strict";
import { test } from "node:test";

import { DEFAULTS, readConfig } from "../../uploads/static/uploads/config.js";
import { checkFile, typeAllowed } from "../../uploads/static/uploads/limits.js";

test("missing settings take their defaults; present ones are kept", () => {
  const config = readConfig({ api: "/api/media/", csrfToken: "t", maxBytes: 100, allowedTypes: ["Video/*"] });
  assert.equal(config.maxBytes, 100);
  assert.deepEqual(config.allowedTypes, ["video/*"]);
  assert.equal(config.multipartThreshold, 64 * 1024 * 1024);
  assert.equal(config.parallelParts, 4);
  assert.equal(config.parallelFiles, 2);
  assert.equal(config.policyExpires, 60);
  assert.deepEqual(readConfig(null), { ...DEFAULTS });
});

test("files above S3's 5 GiB POST limit always go in parts", () => {
  assert.equal(readConfig({ multipartThreshold: 10 * 1024 ** 3 }).multipartThreshold, 5 * 1024 ** 3);
});

test("nonsense numbers fall back, and parallelism stays small", () => {
  const config = readConfig({ parallelParts: 500, parallelFiles: "0", partSize: -1, maxBytes: "abc" });
  assert.equal(config.parallelParts, 8);
  assert.equal(config.parallelFiles, 2);
  assert.equal(config.partSize, DEFAULTS.partSize);
  assert.equal(config.maxBytes, Number.POSITIVE_INFINITY);
});

test("types match exactly or through type/* patterns, like the server's fnmatch", () => {
  const patterns = ["video/*", "image/png"];
  assert.ok(typeAllowed("video/mp4", patterns));
  assert.ok(typeAllowed("VIDEO/MP4", patterns));
  assert.ok(typeAllowed("image/png", patterns));
  assert.equal(typeAllowed("image/jpeg", patterns), false);
  assert.equal(typeAllowed("text/plain", patterns), false);
  assert.equal(typeAllowed("", patterns), false);
  assert.equal(typeAllowed("videos/mp4", ["video/*"]), false);
  assert.ok(typeAllowed("anything/at-all", []));
});

const limits = { maxBytes: 1024, allowedTypes: ["video/*", "audio/*"] };

test("a file within the limits passes", () => {
  assert.equal(checkFile({ name: "a.mp4", size: 1024, type: "video/mp4" }, limits), "");
});

test("refusals are plain sentences", () => {
  assert.equal(checkFile({ name: "a.mp4", size: 0, type: "video/mp4" }, limits), "This file is empty.");
  assert.equal(
    checkFile({ name: "a.mp4", size: 4096, type: "video/mp4" }, limits),
    "Too large: 4.0 KB. The limit is 1.0 KB.",
  );
  assert.equal(
    checkFile({ name: "a.txt", size: 10, type: "text/plain" }, limits),
    "Files of type text/plain are not accepted. Accepted: video files, audio files.",
  );
  assert.match(checkFile({ name: "a", size: 10, type: "" }, limits), /unknown type/);
});
