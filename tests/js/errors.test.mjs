// What each error means for an upload, as the protocol table says (read by core/protocol.js, the
// one place that knows it, and carried by each error), and how the page says it (messages.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  abortError,
  classify,
  closedStatus,
  ContractError,
  isNotReceived,
  isSignatureExpired,
  needsPerson,
  StorageError,
} from "../../uploads/static/uploads/core/errors.js";
import { describeError, describeFailure, describeRetry, SAY } from "../../uploads/static/uploads/core/messages.js";
import { connectionLost, s3Refusal as s3 } from "./support/fake-server.mjs";
import { apiRefusal as api, PROTOCOL_TABLE, protocol } from "./support/protocol.mjs";

const lost = connectionLost;

test("every code the server may answer is acted on as its entry in the table says", () => {
  for (const [code, entry] of Object.entries(PROTOCOL_TABLE.errors)) {
    const error = api(entry.status, { detail: entry.summary, code });
    assert.equal(classify(error), entry.action, code);
    assert.equal(needsPerson(error), entry.needs_person, code);
  }
});

test("a code the page does not know is acted on by its HTTP status, as the table's fallback says", () => {
  const unknown = (/** @type {number} */ status) => classify(api(status, { detail: "From a newer server.", code: "something_new" }));
  assert.equal(unknown(401), "renew");
  assert.equal(unknown(408), "retry");
  assert.equal(unknown(429), "retry");
  assert.equal(unknown(400), "final");
  assert.equal(unknown(409), "final");
  assert.equal(unknown(500), "retry");
  assert.equal(unknown(503), "retry");
  assert.equal(classify(api(0)), "retry", "no answer at all is worth another try");
  assert.equal(needsPerson(api(409, { code: "something_new" })), false);
});

test("the app's 502 (storage_error: S3 refusing the server, a set-up problem) is final; a proxy's bare 502 is retried", () => {
  assert.equal(classify(api(502, { detail: "The storage service refused the request.", code: "storage_error" })), "final");
  assert.equal(classify(api(502)), "retry");
});

test("a 408 is retried, from the app or from S3", () => {
  assert.equal(classify(api(408)), "retry");
  assert.equal(classify(s3(408, "")), "retry");
  assert.equal(classify(s3(400, "RequestTimeout", "Your socket connection timed out")), "retry");
});

test("S3 refusals: lost connections, 5xx, throttling and timeouts are retried", () => {
  assert.equal(classify(lost()), "retry");
  assert.equal(classify(s3(503, "SlowDown", "Reduce your request rate")), "retry");
  assert.equal(classify(s3(500, "InternalError")), "retry");
  assert.equal(classify(s3(429, "")), "retry");
  assert.equal(classify(new StorageError("stalled", { code: "Stalled", action: protocol.storageAction(0, "Stalled", "") })), "retry");
});

test("S3's 403 is renewed only for an expired signature or policy; any other 403 is final", () => {
  assert.equal(classify(s3(403, "AccessDenied", "Request has expired")), "renew");
  assert.equal(classify(s3(403, "AccessDenied", "Invalid according to Policy: Policy expired.")), "renew");
  assert.equal(classify(s3(400, "ExpiredToken")), "renew");
  assert.ok(isSignatureExpired(s3(403, "AccessDenied", "Request has expired")));
  assert.equal(classify(s3(403, "AccessDenied", "Invalid according to Policy: Policy Condition failed")), "final");
  assert.equal(classify(s3(403, "AccessDenied", "Access Denied")), "final");
  assert.equal(classify(s3(403, "SignatureDoesNotMatch")), "final");
  assert.equal(classify(s3(403, "")), "final");
  assert.equal(classify(s3(400, "EntityTooSmall")), "final");
  // The API's 403 (a lost session) is no storage expiry.
  assert.equal(isSignatureExpired(api(403, { detail: "Your token has expired.", code: "permission_denied" })), false);
});

test("a record past its deadline is started again by a person; one whose parts storage lost, by itself", () => {
  const expired = api(409, { detail: "This upload's deadline has passed.", code: "upload_expired", status: "pending" });
  const gone = api(409, { detail: "Storage no longer holds this upload's parts.", code: "parts_gone", status: "pending" });
  assert.equal(classify(expired), "restart");
  assert.equal(needsPerson(expired), true);
  assert.equal(classify(gone), "restart");
  assert.equal(needsPerson(gone), false);
  assert.equal(classify(new Error("upload_expired")), "final");
});

test("another request settling the record, throttling and a down store are retried", () => {
  assert.equal(classify(api(409, { code: "busy", status: "pending" })), "retry");
  assert.equal(classify(api(429, { detail: "Slow down.", code: "throttled" })), "retry");
  assert.equal(classify(api(503, { detail: "Storage is down.", code: "storage_unavailable" })), "retry");
});

test("other refusals are not retried blindly", () => {
  assert.equal(classify(api(400, { code: "invalid", fields: { size: ["Too big."] } })), "final");
  assert.equal(classify(api(409, { code: "not_pending", status: "aborted" })), "final");
  assert.equal(classify(new ContractError("x")), "final");
  assert.equal(classify(new Error("a bug")), "final");
});

test("pause and cancel are aborts, never failures", () => {
  assert.equal(classify(abortError()), "abort");
  const controller = new AbortController();
  controller.abort();
  assert.equal(classify(controller.signal.reason), "abort");
});

test("a 409 naming a final status, or a 404, closes the record; one naming the open status does not", () => {
  assert.equal(closedStatus(api(409, { code: "upload_failed", status: "failed" }), protocol), "failed");
  assert.equal(closedStatus(api(409, { code: "not_pending", status: "uploaded" }), protocol), "uploaded");
  assert.equal(closedStatus(api(409, { code: "upload_expired", status: "expired" }), protocol), "expired");
  assert.equal(closedStatus(api(404, { code: "not_found" }), protocol), "gone");
  assert.equal(closedStatus(api(409, { code: "not_received", status: "pending" }), protocol), null);
  assert.equal(closedStatus(api(409, { code: "not_pending", status: "something-new" }), protocol), null, "an unknown status is none");
  assert.equal(closedStatus(s3(404, "NoSuchUpload"), protocol), null);
  assert.ok(isNotReceived(api(409, { code: "not_received", status: "pending" })));
  assert.ok(!isNotReceived(api(409, { code: "busy", status: "pending" })));
});

test("storage refusing the file names the policy or CORS", () => {
  assert.equal(
    describeError(s3(403, "AccessDenied", "Invalid according to Policy: Policy Condition failed")),
    "Storage refused the file (AccessDenied: Invalid according to Policy: Policy Condition failed). Its upload policy or CORS rules do not allow it.",
  );
  assert.match(describeError(s3(403, "")), /refused the file \(403\)/);
  assert.equal(describeError(s3(503, "SlowDown")), "Storage is having trouble (503 SlowDown). Try again later.");
});

test("a lost network (or a CORS block, which looks the same) is said so", () => {
  assert.match(describeError(lost()), /network connection was lost.*CORS/);
  assert.equal(describeRetry({ error: lost(), delay: 3000 }), "Connection lost. Retrying in 3 s…");
  assert.equal(describeRetry({ error: s3(503, "SlowDown"), delay: 200 }), "Storage is busy. Retrying…");
  assert.equal(describeRetry({ error: api(0), delay: 0 }), "The server cannot be reached. Retrying…");
  assert.equal(describeRetry({ error: api(503), delay: 0 }), "The server is busy. Retrying…");
  assert.equal(describeRetry({ error: lost(), delay: 0, offline: true }), SAY.offline);
});

test("expiry is renewed in words, and explained if it keeps happening", () => {
  assert.equal(SAY.renewing, "Upload permission expired. Renewing…");
  assert.match(describeError(s3(403, "AccessDenied", "Request has expired")), /clock/);
});

test("the server's refusal gives the API's own words", () => {
  const fields = { size: ["Files larger than 10 bytes are not accepted."] };
  assert.equal(
    describeError(api(400, { detail: "size: Files larger…", code: "invalid", fields })),
    "The server refused the file: Files larger than 10 bytes are not accepted.",
  );
  assert.equal(describeError(api(409, { detail: "This upload was cancelled.", code: "not_pending" })), "This upload was cancelled.");
  assert.equal(describeError(api(503, { detail: "Storage is down.", code: "storage_unavailable" })), "Storage is down.");
  assert.match(describeError(api(403, { detail: "CSRF Failed", code: "permission_denied" })), /Sign in again/);
  assert.equal(describeError(api(404, { code: "not_found" })), "This upload no longer exists on the server.");
  assert.match(describeError(api(0)), /Could not reach the server/);
  assert.equal(describeError(api(500)), "The server answered 500.");
  assert.equal(describeError(new Error("plan mismatch")), "plan mismatch");
  assert.equal(describeError("nothing useful"), "Something went wrong.");
});

test("giving up says how many tries were made", () => {
  const error = lost();
  error.attempts = 6;
  assert.match(describeFailure(error), /^Gave up after 6 tries\. Could not reach storage/);
  assert.doesNotMatch(describeFailure(lost()), /Gave up/);
});
