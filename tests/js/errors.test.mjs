// Unit tests for turning API and S3 errors into words a person can read.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, describeApiError } from "../../uploads/static/uploads/api.js";
import { describeError, describeRenew, describeRetry, statusText } from "../../uploads/static/uploads/messages.js";
import { parseS3Error, storageError, TransferError } from "../../uploads/static/uploads/transfer.js";

test("a DRF detail is shown as it is", () => {
  assert.equal(describeApiError(503, { detail: "Storage is down." }), "Storage is down.");
});

test("field errors name their field", () => {
  const body = { size: ["Files larger than 10 bytes are not accepted."], filename: ["Too long.", "Bad."] };
  assert.equal(
    describeApiError(400, body),
    "size: Files larger than 10 bytes are not accepted. filename: Too long. Bad.",
  );
});

test("non-field errors need no field name", () => {
  assert.equal(describeApiError(400, { non_field_errors: ["Invalid data."] }), "Invalid data.");
});

test("an empty or non-JSON body still gives a sentence", () => {
  assert.equal(describeApiError(500, null), "The server answered 500.");
  assert.equal(describeApiError(502, {}), "The server answered 502.");
  assert.equal(describeApiError(0, null), "Could not reach the server.");
});

test("S3's XML error gives its code and message", () => {
  const xml =
    '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Invalid according to Policy</Message></Error>';
  assert.deepEqual(parseS3Error(xml), { code: "AccessDenied", message: "Invalid according to Policy" });
  assert.deepEqual(parseS3Error(""), { code: "", message: "" });
});

const s3 = (status, code, message) =>
  storageError(status, `<Error><Code>${code}</Code><Message>${message}</Message></Error>`);

test("S3 refusing the file names the policy or CORS", () => {
  assert.equal(
    describeError(s3(403, "AccessDenied", "Invalid according to Policy: Policy Condition failed")),
    "Storage refused the file (AccessDenied: Invalid according to Policy: Policy Condition failed). Its upload policy or CORS rules do not allow it.",
  );
  assert.match(describeError(storageError(403, "")), /refused the file \(403\)/);
});

test("a lost network (or a CORS block, which looks the same) is said so", () => {
  assert.match(describeError(new TransferError("x")), /network connection was lost.*CORS/);
  assert.equal(describeRetry({ error: new TransferError("x"), delay: 3000 }), "Connection lost. Retrying in 3 s…");
  assert.equal(describeRetry({ error: s3(503, "SlowDown", ""), delay: 200 }), "Storage is busy. Retrying…");
  assert.equal(describeRetry({ error: new ApiError(0, null), delay: 0 }), "The server cannot be reached. Retrying…");
  assert.match(describeRetry({ error: new TransferError("x"), delay: 0, offline: true }), /You are offline/);
});

test("expiry is renewed in words, and explained if it keeps happening", () => {
  assert.equal(describeRenew(), "Upload permission expired. Renewing…");
  assert.match(describeError(s3(403, "AccessDenied", "Request has expired")), /clock/);
});

test("the server's refusal gives the API's own message", () => {
  assert.equal(
    describeError(new ApiError(400, { size: ["Files larger than 10 bytes are not accepted."] })),
    "The server refused the file: Files larger than 10 bytes are not accepted.",
  );
  assert.equal(describeError(new ApiError(409, { detail: "This upload was cancelled.", status: "aborted" })), "This upload was cancelled.");
  assert.equal(describeError(new ApiError(503, { detail: "Storage is down." })), "Storage is down.");
  assert.match(describeError(new ApiError(403, { detail: "CSRF Failed" })), /Sign in again/);
  assert.match(describeError(new ApiError(0, null)), /Could not reach the server/);
  assert.equal(describeError(new Error("plan mismatch")), "plan mismatch");
});

test("every status has words", () => {
  for (const status of ["queued", "uploading", "paused", "uploaded", "failed", "aborted", "rejected", "pending", "expired"]) {
    assert.ok(statusText(status).length > 2, status);
  }
  assert.equal(statusText("something-new"), "something-new");
});
