// The uploader's config (defaults for what is left out, the server's values used as sent, nonsense
// refused out loud, the protocol table required) and the limits checked before any request.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ConfigError, DEFAULTS, readConfig } from "../../uploads/static/uploads/core/config.js";
import { checkFile, typeAllowed } from "../../uploads/static/uploads/core/limits.js";
import { PROTOCOL_TABLE } from "./support/protocol.mjs";

/** What the server renders, with `settings` beside its protocol table. */
const raw = (settings = {}) => ({ protocol: PROTOCOL_TABLE, ...settings });

test("missing settings take their defaults; present ones are kept", () => {
  const config = readConfig(raw({ api: "/api/media/", csrfToken: "t", maxBytes: 100, allowedTypes: ["Video/*"], uploadsPage: "/u/" }));
  assert.equal(config.maxBytes, 100);
  assert.deepEqual(config.allowedTypes, ["video/*"]);
  assert.equal(config.uploadsPage, "/u/");
  assert.equal(config.multipartThreshold, 64 * 1024 * 1024);
  assert.equal(config.parallelParts, 4);
  assert.equal(config.parallelFiles, 2);
  assert.equal(config.policyExpires, 60);
  const { protocol, ...settings } = readConfig(raw());
  assert.deepEqual(settings, { ...DEFAULTS });
  assert.equal(protocol.maxPartsPerSign, PROTOCOL_TABLE.limits.max_parts_per_sign);
  assert.equal(readConfig(raw()).maxBytes, Number.POSITIVE_INFINITY, "no limit unless the server sends one");
});

test("the server's settings are used as sent, never quietly changed", () => {
  const config = readConfig(raw({ multipartThreshold: 10 * 1024 ** 3, parallelParts: 500, parallelFiles: 12 }));
  assert.equal(config.multipartThreshold, 10 * 1024 ** 3);
  assert.equal(config.parallelParts, 500);
  assert.equal(config.parallelFiles, 12);
  // A setting the page no longer uses (the part size is the server's, per upload) is ignored.
  assert.ok(!("partSize" in readConfig(raw({ partSize: 5 }))));
});

test("a setting that makes no sense is refused out loud, naming each", () => {
  assert.throws(
    () => readConfig(raw({ parallelParts: 0, parallelFiles: "2", maxBytes: "abc", allowedTypes: "video/*" })),
    (error) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.problems.length, 4);
      assert.match(error.message, /parallelParts must be a whole number above 0, not 0\./);
      assert.match(error.message, /parallelFiles must be a whole number above 0, not "2"\./);
      assert.match(error.message, /allowedTypes must be a list of types/);
      return true;
    },
  );
  assert.throws(() => readConfig(raw({ policyExpires: 1.5 })), ConfigError);
});

test("the protocol table has no default: without it, or with a broken one, the config is refused", () => {
  assert.throws(() => readConfig(null), { name: "ConfigError", message: /protocol must be an object/ });
  assert.throws(
    () => readConfig({ maxBytes: 0 }),
    (error) => error instanceof ConfigError && error.problems.length === 2,
  );
  const broken = (/** @type {Record<string, unknown>} */ change) => () => readConfig(raw({ protocol: { ...PROTOCOL_TABLE, ...change } }));
  assert.throws(broken({ limits: { max_parts_per_sign: 0 } }), /max_parts_per_sign must be a whole number above 0/);
  assert.throws(
    broken({ errors: { ...PROTOCOL_TABLE.errors, busy: { ...PROTOCOL_TABLE.errors.busy, action: "wait" } } }),
    /errors\.busy\.action must be one of/,
  );
  assert.throws(broken({ fallback: { "5xx": "later" } }), /fallback\.5xx/);
  assert.throws(broken({ statuses: { pending: { final: false }, queued: { final: false } } }), /one status that is not final, not 2/);
  const { not_received: _, ...withoutNotReceived } = PROTOCOL_TABLE.errors;
  assert.throws(broken({ errors: withoutNotReceived }), /has no not_received/);
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

const limits = { maxBytes: 1024, allowedTypes: ["video/*", "audio/*"], acceptedSummary: "" };

test("a file within the limits passes", () => {
  assert.equal(checkFile({ size: 1024, type: "video/mp4" }, limits), "");
});

test("refusals are plain sentences, in the server's words for the accepted types when it gives them", () => {
  assert.equal(checkFile({ size: 0, type: "video/mp4" }, limits), "This file is empty.");
  assert.equal(checkFile({ size: 4096, type: "video/mp4" }, limits), "Too large: 4.0 KB. The limit is 1.0 KB.");
  assert.equal(
    checkFile({ size: 10, type: "text/plain" }, limits),
    "Files of type text/plain are not accepted. Accepted: video files, audio files.",
  );
  assert.equal(
    checkFile({ size: 10, type: "text/plain" }, { ...limits, acceptedSummary: "video (MP4, WEBM)" }),
    "Files of type text/plain are not accepted. Accepted: video (MP4, WEBM).",
  );
  assert.match(checkFile({ size: 10, type: "" }, limits), /unknown type/);
});
