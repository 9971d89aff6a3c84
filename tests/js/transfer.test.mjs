// The browser's senders to storage, over a fake XMLHttpRequest: the form's field order, PUTs with
// no headers of their own, progress, and storage's answers turned into errors.
import assert from "node:assert/strict";
import { test } from "node:test";

import { StorageError } from "../../uploads/static/uploads/core/errors.js";
import { createXhrSenders, parseS3Error } from "../../uploads/static/uploads/core/transfer.js";
import { protocol } from "./support/protocol.mjs";

/** An XHR that records what it is asked, and answers when the test says. */
class FakeXhr extends EventTarget {
  /** @type {FakeXhr[]} */
  static sent = [];
  constructor() {
    super();
    this.upload = new EventTarget();
    /** @type {Record<string, string>} */
    this.requestHeaders = {};
    /** @type {Record<string, string>} */
    this.responseHeaders = {};
    this.status = 0;
    this.responseText = "";
    this.method = "";
    this.url = "";
    /** @type {unknown} */
    this.body = null;
    this.aborted = false;
    this.askedByName = false;
    FakeXhr.sent.push(this);
  }
  open(/** @type {string} */ method, /** @type {string} */ url) {
    Object.assign(this, { method, url });
  }
  setRequestHeader(/** @type {string} */ name, /** @type {string} */ value) {
    this.requestHeaders[name] = value;
  }
  send(/** @type {unknown} */ body) {
    this.body = body;
  }
  abort() {
    this.aborted = true;
  }
  getResponseHeader(/** @type {string} */ name) {
    this.askedByName = true; // a browser logs an error when the header is not exposed
    return this.responseHeaders[name] ?? null;
  }
  // `responseHeaders` are the ones storage's CORS rules expose.
  getAllResponseHeaders() {
    return Object.entries(this.responseHeaders)
      .map(([name, value]) => `${name.toLowerCase()}: ${value}\r\n`)
      .join("");
  }
  progress(/** @type {number} */ loaded, /** @type {number} */ total) {
    this.upload.dispatchEvent(Object.assign(new Event("progress"), { loaded, total, lengthComputable: true }));
  }
  respond(/** @type {number} */ status, text = "", /** @type {Record<string, string>} */ headers = {}) {
    Object.assign(this, { status, responseText: text, responseHeaders: headers });
    this.upload.dispatchEvent(new Event("load"));
    this.dispatchEvent(new Event("load"));
  }
}

/** The last XHR made (a test's mistake when there is none). */
const last = () => FakeXhr.sent[FakeXhr.sent.length - 1];
/** The senders, over FakeXhr (taken for the browser's XMLHttpRequest). */
const senders = (/** @type {{stallMs?: number, answerMs?: number}} */ options = {}) =>
  createXhrSenders({ protocol, Xhr: /** @type {typeof XMLHttpRequest} */ (/** @type {unknown} */ (FakeXhr)), ...options });
const signal = () => new AbortController().signal;

test("a POST form sends every policy field, then the file last, as `file`; progress is in file bytes", async () => {
  const file = new File([new Uint8Array(100)], "clip.mp4", { type: "video/mp4" });
  /** @type {number[]} */
  const seen = [];
  const sending = senders().postForm({
    url: "https://s3.test/bucket",
    fields: { key: "incoming/x.mp4", policy: "p", "x-amz-signature": "s" },
    file,
    signal: signal(),
    onProgress: (bytes) => seen.push(bytes),
  });
  const xhr = last();
  assert.equal(xhr.method, "POST");
  assert.ok(xhr.body instanceof FormData);
  assert.deepEqual([...xhr.body.keys()], ["key", "policy", "x-amz-signature", "file"]);
  xhr.progress(150, 300); // the form's total counts fields and boundaries too
  xhr.respond(204);
  await sending;
  assert.deepEqual(seen, [50, 100]);
});

test("a part is PUT as the slice it is, with no headers of its own", async () => {
  const body = new Blob([new Uint8Array(5)]);
  /** @type {number[]} */
  const seen = [];
  const sending = senders().putPart({
    url: "https://s3.test/p?partNumber=1",
    body,
    signal: signal(),
    onProgress: (bytes) => seen.push(bytes),
  });
  const xhr = last();
  assert.equal(xhr.method, "PUT");
  assert.equal(xhr.body, body);
  assert.deepEqual(xhr.requestHeaders, {});
  xhr.progress(9, 9);
  xhr.respond(200, "", { ETag: '"abc"' });
  assert.equal(await sending, '"abc"');
  assert.deepEqual(seen, [5], "never more than the part");
});

test("a part's ETag is read only when storage exposes it, never asked for by name", async () => {
  const put = () => senders().putPart({ url: "u", body: new Blob(["x"]), signal: signal(), onProgress: () => {} });
  const exposed = put();
  last().respond(200, "", { "Content-Length": "0", ETag: '"e1"' });
  assert.equal(await exposed, '"e1"');
  const hidden = put();
  last().respond(200, "", { "Content-Length": "0" });
  assert.equal(await hidden, "", "the server lists the parts instead");
  assert.ok(FakeXhr.sent.every((xhr) => !xhr.askedByName));
});

test("storage's refusals become StorageErrors with its code and the protocol's action; a lost connection is status 0", async () => {
  const put = () => senders().putPart({ url: "u", body: new Blob(["x"]), signal: signal(), onProgress: () => {} });
  const refused = put();
  last().respond(403, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>");
  await assert.rejects(refused, (error) => {
    assert.ok(error instanceof StorageError);
    assert.equal(error.status, 403);
    assert.equal(error.code, "AccessDenied");
    assert.equal(error.detail, "Request has expired");
    assert.equal(error.message, "Storage refused the upload (403 AccessDenied): Request has expired");
    assert.equal(error.action, "renew");
    return true;
  });
  const denied = put();
  last().respond(403, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
  await assert.rejects(denied, { name: "StorageError", action: "final" });
  const lost = put();
  last().dispatchEvent(new Event("error"));
  await assert.rejects(lost, { name: "StorageError", status: 0, action: "retry" });
});

test("a stopped transfer aborts its XHR and is an abort, not a failure; a stalled one is a lost connection", async () => {
  const controller = new AbortController();
  const stopped = senders().putPart({ url: "u", body: new Blob(["x"]), signal: controller.signal, onProgress: () => {} });
  const xhr = last();
  controller.abort();
  await assert.rejects(stopped, { name: "AbortError" });
  assert.equal(xhr.aborted, true);

  const stalled = senders({ stallMs: 5 }).putPart({ url: "u", body: new Blob(["x"]), signal: signal(), onProgress: () => {} });
  await assert.rejects(stalled, { name: "StorageError", code: "Stalled", status: 0, action: "retry" });
  assert.equal(last().aborted, true);
});

test("S3's XML error gives its code and message", () => {
  const xml = '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Invalid according to Policy</Message></Error>';
  assert.deepEqual(parseS3Error(xml), { code: "AccessDenied", message: "Invalid according to Policy" });
  assert.deepEqual(parseS3Error(""), { code: "", message: "" });
});
