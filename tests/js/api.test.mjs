// Unit tests for the API client: paths, methods, the CSRF header, and errors (with a fake fetch).
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, createApi, isUploadExpired } from "../../uploads/static/uploads/api.js";

/** A fetch that records each call and answers with `status` and `body`. */
function fakeFetch(status = 200, body = {}, headers = {}) {
  const calls = [];
  const fetch = async (url, options) => {
    calls.push({ url, ...options });
    return new Response(status === 204 ? null : JSON.stringify(body), { status, headers });
  };
  return { fetch, calls };
}

test("every call goes to /api/media/ with JSON, and writes carry the CSRF token", async () => {
  const { fetch, calls } = fakeFetch(200, { ok: true });
  const api = createApi({ base: "/api/media/", csrfToken: "tok", fetch });
  const file = { name: "a.MP4", size: 3, type: "Video/MP4" };
  await api.create(file);
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
  assert.deepEqual(JSON.parse(calls[0].body), { filename: "a.MP4", content_type: "video/mp4", size: 3 });
  assert.deepEqual(JSON.parse(calls[3].body), { part_numbers: [1, 2] });
  assert.equal(calls[0].headers["X-CSRFToken"], "tok");
  assert.equal(calls[1].headers["X-CSRFToken"], undefined);
  assert.equal(calls[0].credentials, "same-origin");
});

test("a refusal becomes an ApiError with the body and status", async () => {
  const { fetch } = fakeFetch(409, { detail: "This upload was cancelled.", status: "aborted" });
  const api = createApi({ base: "/api/media/", csrfToken: "t", fetch });
  await assert.rejects(api.complete("x"), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 409);
    assert.equal(error.body.status, "aborted");
    assert.equal(error.message, "This upload was cancelled.");
    return true;
  });
});

test("Retry-After is read; no answer at all is status 0", async () => {
  const throttled = createApi({ base: "/", csrfToken: "", fetch: fakeFetch(429, {}, { "Retry-After": "3" }).fetch });
  await assert.rejects(throttled.get("x"), { status: 429, retryAfterMs: 3000 });
  const offline = createApi({
    base: "/",
    csrfToken: "",
    fetch: async () => {
      throw new TypeError("Failed to fetch");
    },
  });
  await assert.rejects(offline.get("x"), { status: 0, message: "Could not reach the server." });
});

test("only a 409 saying upload_expired means the record is past its deadline", () => {
  assert.ok(isUploadExpired(new ApiError(409, { detail: "…", code: "upload_expired", status: "pending" })));
  assert.ok(!isUploadExpired(new ApiError(409, { detail: "…", code: "not_received", status: "pending" })));
  assert.ok(!isUploadExpired(new ApiError(400, { code: "upload_expired" })));
  assert.ok(!isUploadExpired(new Error("upload_expired")));
});
