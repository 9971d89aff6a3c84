// Unit tests for turning API and S3 error bodies into words a person can read.
import assert from "node:assert/strict";
import { test } from "node:test";

import { describeApiError } from "../../uploads/static/uploads/api.js";
import { parseS3Error } from "../../uploads/static/uploads/transfer.js";

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
});

test("S3's XML error gives its code and message", () => {
  const xml =
    '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Invalid according to Policy</Message></Error>';
  assert.deepEqual(parseS3Error(xml), { code: "AccessDenied", message: "Invalid according to Policy" });
  assert.deepEqual(parseS3Error(""), { code: "", message: "" });
});
