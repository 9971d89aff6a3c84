// The API client: paths, methods, the CSRF header, and the server's answers read once into typed
// facts, every refusal into one ApiError shape (with a fake fetch).
import assert from "node:assert/strict";
import { test } from "node:test";

import { createApi } from "../../uploads/static/uploads/core/api.js";
import { ApiError, ContractError } from "../../uploads/static/uploads/core/errors.js";
import { protocol } from "./support/protocol.mjs";

const RECORD = {
  id: "id1",
  key: "incoming/id1.mp4",
  filename: "a.MP4",
  content_type: "video/mp4",
  size: 3,
  status: "pending",
  upload_method: "post",
  bytes_confirmed: 0,
  etag: "",
  failure_reason: "",
  created_at: "2026-11-01T00:00:00Z",
  uploaded_at: null,
  download_url: null,
  field_value: null,
  analysis: { status: "none", reason: null, detail: null },
  metadata: null,
  poster_url: null,
  thumbnail_url: null,
  field_check: null,
};
const POST = {
  method: "post",
  url: "https://s3.test/b",
  fields: { key: "incoming/id1.mp4", policy: "p" },
  expires_at: "2026-11-01T00:01:00Z",
};
const MULTIPART = { method: "multipart", part_size: 5, part_count: 3, expires_at: "2026-11-02T00:00:00Z", first_parts: null };

/** An answer: [status, JSON body, headers]. */
/** @typedef {[number, unknown, Record<string, string>?]} Answer */

/**
 * A fetch that records each call and answers `answer(url, options)`.
 * @param {(url: string, options: RequestInit) => Answer} answer
 */
function fakeFetch(answer) {
  /** @type {(RequestInit & {url: string, headers: Record<string, string>, json: unknown})[]} */
  const calls = [];
  /** @type {typeof globalThis.fetch} */
  const fetch = async (url, options = {}) => {
    const headers = /** @type {Record<string, string>} */ (options.headers ?? {});
    const json = typeof options.body === "string" ? JSON.parse(options.body) : undefined;
    calls.push({ url: String(url), ...options, headers, json });
    const [status, body, answered = {}] = answer(String(url), options);
    return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: answered });
  };
  return { fetch, calls };
}

/**
 * The contract's answer to each call.
 * @param {string} url
 * @param {RequestInit} options
 * @returns {Answer}
 */
function contractAnswer(url, { method }) {
  if (url.endsWith("/parts/") && method === "POST") {
    return [200, { expires_at: "2026-11-01T00:01:00Z", parts: [{ part_number: 1, url: "https://s3.test/p1", size: 5 }] }];
  }
  if (url.endsWith("/parts/")) {
    return [200, { part_size: 5, part_count: 3, bytes_confirmed: 5, parts: [{ part_number: 1, size: 5, etag: '"e"' }], missing: [2, 3] }];
  }
  if (url.endsWith("/authorize/")) return [200, { upload: MULTIPART }];
  if (url.includes("?")) return [200, { count: 1, next: null, previous: null, results: [RECORD] }];
  if (url === "/api/media/") return [201, { ...RECORD, upload: POST }];
  return [200, RECORD];
}

test("complete names the parts it is given, with their ETags", async () => {
  const { fetch, calls } = fakeFetch(contractAnswer);
  const api = createApi({ protocol, base: "/api/media/", csrfToken: "tok", fetch });
  await api.complete("id1", undefined, [{ part_number: 1, etag: '"e1"' }]);
  assert.deepEqual(calls[0].json, { parts: [{ part_number: 1, etag: '"e1"' }] });
});

test("every call goes to /api/media/ with JSON, and writes carry the CSRF token", async () => {
  const { fetch, calls } = fakeFetch(contractAnswer);
  const api = createApi({ protocol, base: "/api/media/", csrfToken: "tok", fetch });
  await api.create({ name: "a.MP4", size: 3, type: "Video/MP4" }, "key-1");
  await api.get("id1");
  await api.authorize("id1");
  await api.signParts("id1", [1, 2]);
  await api.listParts("id1");
  await api.complete("id1");
  await api.abort("id1");
  await api.list(10);
  await api.listPending();
  assert.deepEqual(
    calls.map((call) => `${call.method} ${call.url}`),
    [
      "POST /api/media/",
      "GET /api/media/id1/",
      "POST /api/media/id1/authorize/",
      "POST /api/media/id1/parts/",
      "GET /api/media/id1/parts/",
      "POST /api/media/id1/complete/",
      "POST /api/media/id1/abort/",
      "GET /api/media/?page_size=10",
      "GET /api/media/?status=pending&page_size=100",
    ],
  );
  assert.deepEqual(calls[0].json, { filename: "a.MP4", content_type: "video/mp4", size: 3 });
  assert.deepEqual(calls[3].json, { part_numbers: [1, 2] });
  assert.equal(calls[5].json, undefined, "complete names no parts unless given");
  assert.equal(calls[0].headers["X-CSRFToken"], "tok");
  assert.equal(calls[1].headers["X-CSRFToken"], undefined);
  assert.equal(calls[0].credentials, "same-origin");
});

test("answers become typed facts: the record and its upload, signed parts, the part listing", async () => {
  const api = createApi({ protocol, base: "/api/media/", csrfToken: "t", fetch: fakeFetch(contractAnswer).fetch });
  const created = await api.create({ name: "a.MP4", size: 3, type: "video/mp4" }, "key-1");
  assert.equal(created.id, "id1");
  assert.equal(created.upload_method, "post");
  assert.deepEqual(created.upload, POST);
  assert.deepEqual(await api.authorize("id1"), MULTIPART);
  assert.deepEqual((await api.signParts("id1", [1])).parts, [{ part_number: 1, url: "https://s3.test/p1", size: 5 }]);
  const listing = await api.listParts("id1");
  assert.deepEqual(listing.missing, [2, 3]);
  assert.equal(listing.bytes_confirmed, 5);
  assert.equal((await api.list(10)).results[0].filename, "a.MP4");
});

test("a new multipart upload's first part URLs are read with its plan", async () => {
  const first_parts = { expires_at: "2026-11-02T00:00:00Z", parts: [{ part_number: 1, url: "https://s3.test/p1", size: 5 }] };
  const answering = (/** @type {unknown} */ body) =>
    createApi({ protocol, base: "/", csrfToken: "", fetch: fakeFetch(() => [200, body]).fetch });
  assert.deepEqual(await answering({ upload: { ...MULTIPART, first_parts } }).authorize("x"), { ...MULTIPART, first_parts });
  await assert.rejects(
    answering({ upload: { ...MULTIPART, first_parts: { expires_at: "t", parts: [{ part_number: 1 }] } } }).authorize("x"),
    ContractError,
  );
});

test("an answer off the contract is refused at once, not half-used", async () => {
  const answering = (/** @type {unknown} */ body) =>
    createApi({ protocol, base: "/", csrfToken: "", fetch: fakeFetch(() => [200, body]).fetch });
  // The POST method is spelled "post": the old "POST" is no known method.
  await assert.rejects(answering({ upload: { ...POST, method: "POST" } }).authorize("x"), ContractError);
  await assert.rejects(answering({ upload: { ...MULTIPART, part_size: "5" } }).authorize("x"), /part_size/);
  await assert.rejects(answering({ expires_at: "t", parts: [{ part_number: 1, url: "u" }] }).signParts("x", [1]), /size/);
  await assert.rejects(answering({ ...RECORD, status: "done" }).get("x"), /status "done"/);
  await assert.rejects(answering({ part_size: 5, part_count: 1, bytes_confirmed: 0, parts: [] }).listParts("x"), /missing/);
});

test("part numbers are asked for 1 to the protocol's signing limit at a time", async () => {
  const { fetch, calls } = fakeFetch(contractAnswer);
  const api = createApi({ protocol, base: "/", csrfToken: "", fetch });
  const numbers = (/** @type {number} */ count) => Array.from({ length: count }, (_, i) => i + 1);
  await assert.rejects(api.signParts("x", []), RangeError);
  await assert.rejects(api.signParts("x", numbers(protocol.maxPartsPerSign + 1)), RangeError);
  assert.equal(calls.length, 0);
  await api.signParts("x", numbers(protocol.maxPartsPerSign));
  assert.equal(calls.length, 1);
});

test("complete/ answers the record with the value a form field submits; other answers have none", async () => {
  /** @type {(url: string) => Answer} */
  const answer = (url) => [200, url.endsWith("/complete/") ? { ...RECORD, status: "uploaded", field_value: "signed-value" } : RECORD];
  const api = createApi({ protocol, base: "/api/media/", csrfToken: "t", fetch: fakeFetch(answer).fetch });
  assert.equal((await api.complete("id1")).field_value, "signed-value");
  const bare = Object.fromEntries(Object.entries(RECORD).filter(([name]) => name !== "field_value"));
  const plain = createApi({ protocol, base: "/api/media/", csrfToken: "t", fetch: fakeFetch(() => [200, bare]).fetch });
  assert.equal((await plain.get("id1")).field_value, null);
});

test("the list of open uploads asks for the protocol's one open status", async () => {
  const { fetch, calls } = fakeFetch(contractAnswer);
  await createApi({ protocol, base: "/api/media/", csrfToken: "", fetch }).listPending();
  assert.equal(calls[0].url, `/api/media/?status=${protocol.openStatus}&page_size=100`);
});

test("a refusal is one ApiError: detail, code, the record's status on a 409, fields on a 400", async () => {
  const refusing = (/** @type {number} */ status, /** @type {unknown} */ body, /** @type {Record<string, string>} */ headers = {}) =>
    createApi({ protocol, base: "/", csrfToken: "t", fetch: fakeFetch(() => [status, body, headers]).fetch });
  await assert.rejects(
    refusing(409, { detail: "This upload was cancelled.", code: "not_pending", status: "aborted" }).complete("x"),
    (error) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.status, 409);
      assert.equal(error.code, "not_pending");
      assert.equal(error.recordStatus, "aborted");
      assert.equal(error.message, "This upload was cancelled.");
      return true;
    },
  );
  const fields = { size: ["Files larger than 10 bytes are not accepted."], filename: ["Too long.", "Bad."] };
  await assert.rejects(
    refusing(400, { detail: "Check the fields.", code: "invalid", fields }).create({ name: "a", size: 1, type: "" }, "key-1"),
    {
      status: 400,
      detail: "Check the fields.",
      fields,
    },
  );
  await assert.rejects(refusing(429, { detail: "Slow down.", code: "throttled" }, { "Retry-After": "3" }).get("x"), {
    code: "throttled",
    action: "retry",
    retryAfterMs: 3000,
  });
  // The protocol's word on the code comes with it.
  await assert.rejects(refusing(409, { detail: "Too late.", code: "upload_expired", status: "pending" }).authorize("x"), {
    action: "restart",
    needsPerson: true,
    recordStatus: "pending",
  });
  // A body that is not the shape (a proxy's HTML page) still gives a sentence, and no code.
  await assert.rejects(refusing(502, null).get("x"), { code: "", message: "The server answered 502." });
});

test("no answer at all is status 0; a cancelled request stays an abort", async () => {
  const offline = createApi({
    protocol,
    base: "/",
    csrfToken: "",
    fetch: async () => {
      throw new TypeError("Failed to fetch");
    },
  });
  await assert.rejects(offline.get("x"), { status: 0, action: "retry", message: "Could not reach the server." });
  const controller = new AbortController();
  const aborting = createApi({
    protocol,
    base: "/",
    csrfToken: "",
    fetch: async (url, init) => {
      controller.abort();
      init?.signal?.throwIfAborted();
      return assert.fail("the request was aborted");
    },
  });
  await assert.rejects(aborting.get("x", controller.signal), { name: "AbortError" });
});

test("create sends the row's Idempotency-Key; the other calls send none", async () => {
  const { fetch, calls } = fakeFetch(contractAnswer);
  const api = createApi({ protocol, base: "/api/media/", csrfToken: "tok", fetch });
  await api.create({ name: "a.mp4", size: 3, type: "video/mp4" }, "3f1c0b9e-key");
  await api.authorize("id1");
  assert.equal(calls[0].headers["Idempotency-Key"], "3f1c0b9e-key");
  assert.equal(calls[1].headers["Idempotency-Key"], undefined);
});
