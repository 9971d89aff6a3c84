// The protocol reader (core/protocol.js) reads the server's table by the same rules as the server's
// own reader, uploads/protocol.py: checked case by case against it when Python is at hand.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

import { readProtocol } from "../../uploads/static/uploads/core/protocol.js";
import { PROTOCOL_TABLE, protocol } from "./support/protocol.mjs";

const ROOT = new URL("../../", import.meta.url);
const codes = [...Object.keys(PROTOCOL_TABLE.errors), "", "something_new"];
const statuses = [0, 400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504];
const s3Codes = ["", "AccessDenied", "ExpiredToken", "RequestExpired", "RequestTimeout", "SlowDown", "SignatureDoesNotMatch", "Stalled"];
const messages = ["", "Request has expired", "Invalid according to Policy: Policy expired.", "Access Denied"];

test("record statuses: one open, the others final", () => {
  assert.deepEqual(protocol.statuses, Object.keys(PROTOCOL_TABLE.statuses));
  assert.equal(protocol.openStatus, "pending");
  for (const [name, entry] of Object.entries(PROTOCOL_TABLE.statuses)) {
    assert.equal(protocol.isStatus(name), true);
    assert.equal(protocol.isFinal(name), entry.final, name);
  }
  assert.equal(protocol.isStatus("something-new"), false);
  assert.equal(protocol.isStatus(3), false);
  assert.equal(protocol.maxPartsPerSign, PROTOCOL_TABLE.limits.max_parts_per_sign);
});

test("every answer is acted on exactly as the server's reader (uploads/protocol.py) says", (t) => {
  /** @type {[number, string][]} */
  const app = statuses.flatMap((status) => codes.map((code) => /** @type {[number, string]} */ ([status, code])));
  /** @type {[number, string, string][]} */
  const storage = [0, 400, 403, 404, 408, 429, 500, 503].flatMap((status) =>
    s3Codes.flatMap((code) => messages.map((message) => /** @type {[number, string, string]} */ ([status, code, message]))),
  );
  const script = [
    "import json, sys",
    "sys.path.insert(0, '.')",
    "from uploads import protocol",
    "cases = json.load(sys.stdin)",
    "print(json.dumps({",
    "  'app': [protocol.action_for(s, c) for s, c in cases['app']],",
    "  'storage': [protocol.storage_action(s, c, m) for s, c, m in cases['storage']],",
    "  'person': [protocol.error(c).needs_person for c in cases['codes'] if c in protocol.errors()],",
    "}))",
  ].join("\n");
  const python = spawnSync("python3", ["-c", script], {
    cwd: ROOT,
    input: JSON.stringify({ app, storage, codes }),
    encoding: "utf8",
  });
  if (python.error || python.status !== 0) {
    const reason = `no Python to compare with: ${python.error ?? python.stderr}`;
    if (process.env.CI) assert.fail(`${reason} (CI=true: tests may not skip)`);
    return t.skip(reason);
  }
  const server = JSON.parse(python.stdout);
  assert.deepEqual(
    app.map(([status, code]) => `${status} ${code}: ${protocol.appAction(status, code)}`),
    app.map(([status, code], index) => `${status} ${code}: ${server.app[index]}`),
  );
  assert.deepEqual(
    storage.map(([status, code, message]) => `${status} ${code} ${message}: ${protocol.storageAction(status, code, message)}`),
    storage.map(([status, code, message], index) => `${status} ${code} ${message}: ${server.storage[index]}`),
  );
  const known = codes.filter((code) => code in PROTOCOL_TABLE.errors);
  assert.deepEqual(
    known.map((code) => protocol.needsPerson(code)),
    server.person,
  );
});

test("the reader follows the table it is given, not a copy of its own", () => {
  // Every code's action turned to the next one, and the fallback and S3 rules reversed.
  const actions = ["retry", "renew", "restart", "final"];
  const turned = structuredClone(PROTOCOL_TABLE);
  for (const entry of Object.values(turned.errors)) {
    entry.action = actions[(actions.indexOf(entry.action) + 1) % actions.length];
    entry.needs_person = !entry.needs_person;
  }
  turned.fallback = { ...turned.fallback, 401: "final", 408: "final", 429: "final", "4xx": "retry", "5xx": "final" };
  turned.storage.retry_codes = [];
  turned.storage.retry_statuses = [];
  turned.storage.retry_5xx = false;
  turned.limits.max_parts_per_sign = 7;
  const reader = readProtocol(turned);
  for (const [code, entry] of Object.entries(turned.errors)) {
    assert.equal(reader.appAction(entry.status, code), entry.action, code);
    assert.equal(reader.needsPerson(code), entry.needs_person, code);
  }
  assert.equal(reader.appAction(418, "something_new"), "retry");
  assert.equal(reader.appAction(503, "something_new"), "final");
  assert.equal(reader.appAction(429, "something_new"), "final");
  assert.equal(reader.storageAction(503, "SlowDown", ""), "final");
  assert.equal(reader.maxPartsPerSign, 7);
});

test("analysis statuses and field checks: which are final, which failed, which refuses", () => {
  assert.deepEqual(protocol.analysisStatuses, Object.keys(PROTOCOL_TABLE.analysis_statuses));
  for (const [name, entry] of Object.entries(PROTOCOL_TABLE.analysis_statuses)) {
    assert.equal(protocol.analysisFinal(name), entry.final, name);
    assert.equal(protocol.analysisFailed(name), name === "failed", name);
  }
  assert.deepEqual(protocol.fieldChecks, Object.keys(PROTOCOL_TABLE.field_checks));
  for (const [name, entry] of Object.entries(PROTOCOL_TABLE.field_checks)) {
    assert.equal(protocol.fieldCheckFinal(name), entry.final, name);
    assert.equal(protocol.fieldRefuses(name), name === "refused", name);
  }
  assert.equal(protocol.analysisFinal("something-new"), false, "an unknown status is waited on, never taken as over");

  // What the page acts on must be in the table, final; and something must be left to wait for.
  const without = structuredClone(PROTOCOL_TABLE);
  delete without.field_checks.refused;
  assert.throws(() => readProtocol(without), /protocol\.field_checks has no final refused/);
  const allFinal = structuredClone(PROTOCOL_TABLE);
  for (const entry of Object.values(allFinal.analysis_statuses)) entry.final = true;
  assert.throws(() => readProtocol(allFinal), /protocol\.analysis_statuses must have a status that is not final/);
  const missing = structuredClone(PROTOCOL_TABLE);
  delete missing.analysis_statuses;
  assert.throws(() => readProtocol(missing), /protocol\.analysis_statuses must be an object/);
});
