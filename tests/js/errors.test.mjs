// What each error means for an upload (errors.js, the one place that decides) and how the page
// says it (messages.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  abortError,
  ApiError,
  classify,
  closedStatus,
  ContractError,
  isNotReceived,
  isSignatureExpired,
  StorageError,
} from "../../uploads/static/uploads/errors.js";
import { describeError, describeFailure, describeRetry, describeRestart, SAY } from "../../uploads/static/uploads/messages.js";
import { storageError } from "../../uploads/static/uploads/transfer.js";

const s3 = (status, code, message = "") => storageError(status, `<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
const api = (status, facts = {}) => new ApiError(status, facts);
const lost = () => new StorageError("lost");

test("network errors, 5xx, 408 and 429 are retried", () => {
  assert.equal(classify(lost()), "retry");
  assert.equal(classify(s3(503, "SlowDown", "Reduce your request rate")), "retry");
  assert.equal(classify(s3(500, "InternalError")), "retry");
  assert.equal(classify(s3(400, "RequestTimeout", "Your socket connection timed out")), "retry");
  assert.equal(classify(new StorageError("stalled", { code: "Stalled" })), "retry");
  assert.equal(classify(api(0)), "retry");
  assert.equal(classify(api(408)), "retry");
  assert.equal(classify(api(429, { detail: "Slow down.", code: "throttled" })), "retry");
  assert.equal(classify(api(503, { detail: "Storage is down.", code: "storage_unavailable" })), "retry");
  // Another request is settling the record: a moment later it is free.
  assert.equal(classify(api(409, { code: "busy", recordStatus: "pending" })), "retry");
});

test("other refusals are not retried blindly", () => {
  assert.equal(classify(s3(403, "AccessDenied", "Invalid according to Policy: Policy Condition failed")), "final");
  assert.equal(classify(s3(403, "SignatureDoesNotMatch")), "final");
  assert.equal(classify(s3(400, "EntityTooSmall")), "final");
  assert.equal(classify(api(400, { code: "invalid", fields: { size: ["Too big."] } })), "final");
  assert.equal(classify(api(409, { code: "not_pending", recordStatus: "aborted" })), "final");
  assert.equal(classify(new ContractError("x")), "final");
  assert.equal(classify(new Error("a bug")), "final");
  // The app's 502 ({detail, code}) is S3 refusing the server (set-up); a bare 502 is a proxy
  // during a restart.
  assert.equal(classify(api(502, { detail: "The storage service refused the request.", code: "storage_error" })), "final");
  assert.equal(classify(api(502)), "retry");
});

test("an expired signature or policy is renewed, not counted as a failure", () => {
  assert.ok(isSignatureExpired(s3(403, "AccessDenied", "Request has expired")));
  assert.ok(isSignatureExpired(s3(403, "AccessDenied", "Invalid according to Policy: Policy expired.")));
  assert.ok(isSignatureExpired(s3(400, "ExpiredToken")));
  assert.equal(classify(s3(403, "AccessDenied", "Request has expired")), "renew");
  // The API's 403 (a lost session) is no storage expiry.
  assert.equal(isSignatureExpired(api(403, { detail: "Your token has expired." })), false);
  assert.equal(isSignatureExpired(s3(403, "AccessDenied", "Access Denied")), false);
});

test("a record past its deadline, or whose parts storage lost, is started over; nothing else", () => {
  assert.equal(classify(api(409, { code: "upload_expired", recordStatus: "pending" })), "restart");
  assert.equal(classify(api(409, { code: "parts_gone", recordStatus: "pending" })), "restart");
  assert.equal(classify(api(409, { code: "not_received", recordStatus: "pending" })), "final");
  assert.equal(classify(new Error("upload_expired")), "final");
});

test("pause and cancel are aborts, never failures", () => {
  assert.equal(classify(abortError()), "abort");
  const controller = new AbortController();
  controller.abort();
  assert.equal(classify(controller.signal.reason), "abort");
});

test("a 409 naming a final status, or a 404, closes the record; a pending one does not", () => {
  assert.equal(closedStatus(api(409, { code: "failed", recordStatus: "failed" })), "failed");
  assert.equal(closedStatus(api(409, { code: "not_pending", recordStatus: "uploaded" })), "uploaded");
  assert.equal(closedStatus(api(404, { code: "not_found" })), "gone");
  assert.equal(closedStatus(api(409, { code: "not_received", recordStatus: "pending" })), null);
  assert.equal(closedStatus(s3(404, "NoSuchUpload")), null);
  assert.ok(isNotReceived(api(409, { code: "not_received", recordStatus: "pending" })));
  assert.ok(!isNotReceived(api(409, { code: "busy", recordStatus: "pending" })));
});

test("storage refusing the file names the policy or CORS", () => {
  assert.equal(
    describeError(s3(403, "AccessDenied", "Invalid according to Policy: Policy Condition failed")),
    "Storage refused the file (AccessDenied: Invalid according to Policy: Policy Condition failed). Its upload policy or CORS rules do not allow it.",
  );
  assert.match(describeError(storageError(403, "")), /refused the file \(403\)/);
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

test("giving up says how many tries were made; a restart says why", () => {
  const error = lost();
  error.attempts = 6;
  assert.match(describeFailure(error), /^Gave up after 6 tries\. Could not reach storage/);
  assert.doesNotMatch(describeFailure(lost()), /Gave up/);
  assert.equal(describeRestart(api(409, { code: "upload_expired" })), "The earlier upload ran out of time; starting it again.");
  assert.match(describeRestart(api(409, { code: "parts_gone" })), /no longer held the earlier parts/);
});
