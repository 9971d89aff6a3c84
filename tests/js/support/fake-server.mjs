// The mediaupload API and its bucket, in memory, speaking the wire contract: a `fetch` for the API
// client, and a form sender and part sender standing in for the browser's XHRs against S3. The
// bucket refuses a part whose length is not the size it signed, as S3 does with a signed
// Content-Length, and `complete` assembles the parts the way the server does. A create may name a
// form's model field (kept as the entry's `field`); complete/ answers a record made for one with
// its `field_value`, `signed:<id>:<field>`. A new multipart upload comes with its first
// `firstParts` part URLs signed, as the server signs them. A part's ETag is `"e<n>"`, in the PUT's
// answer (unless `exposeETags` is off) and in listings. A request for no known route (such as
// the deprecated field-value/) is logged by its name and answered 404. A completed record's
// analysis is pending until a test calls `analyse(id, …)`, as a worker would; a record made for a
// field has that field's `field_check`: accepted at once, or, when the field's limits wait for
// the analysis (`analysedLimits`), checking until `analyse` gives the verdict.
import { storageError, storageUnreachable } from "../../../uploads/static/uploads/core/transfer.js";
import { protocol } from "./protocol.mjs";
import { analysisOf, checkOf, NOT_ANALYSED } from "./records.mjs";

/**
 * @import { FieldCheck, MediaRecord, UploadDescriptor } from "../../../uploads/static/uploads/core/answers.js"
 * @import { FormSender, PutSender } from "../../../uploads/static/uploads/core/transfer.js"
 */

/**
 * A record as the server keeps it, and what its bucket holds for it.
 * @typedef {object} Entry
 * @property {Omit<MediaRecord, "download_url" | "field_value" | "field_check">} record
 * @property {Map<number, Uint8Array>} parts
 * @property {Uint8Array | null} object
 * @property {string} field the form field the create named, if any
 * @property {FieldCheck | null} check whether that field takes the record, once it is uploaded
 * @property {unknown} [named] the parts (and ETags) the last complete named, if any
 */

/** An answer: a status and a JSON body, as sent. */
/** @typedef {{status: number, body: Record<string, any>, headers?: Record<string, string>}} Answer */

/**
 * A route: what the server answers, for the request's record (routes without one ignore it).
 * @typedef {(entry: Entry, body: any, query: URLSearchParams, headers: Record<string, string>) => Answer} Route
 */

/**
 * A test's stand-in for a route; `next()` gives the server's own answer, "network" loses it.
 * @typedef {(request: {id: string | null, body: any, next: () => Promise<Answer>, headers: Record<string, string>}) =>
 *   Promise<Answer | "network">} Override
 */

/**
 * What a test may hold up or fail: the bucket's PUT of a part, and its POST of a form.
 * @typedef {{beforePut: (number: number, signal: AbortSignal) => Promise<unknown> | void,
 *   beforePost: () => Promise<unknown> | void}} Hooks
 */

export const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
const later = (/** @type {number} */ ms) => new Date(Date.now() + ms).toISOString();

/** A file of `size` bytes whose bytes say where they come from, as the picker would give it. */
export function makeFile(/** @type {number} */ size, name = "clip.mp4", type = "video/mp4") {
  const bytes = new Uint8Array(size).map((_, index) => index % 251);
  return new File([bytes], name, { type, lastModified: 1_700_000_000_000 });
}

/** Bytes of a Blob, as a plain array (to compare). */
export async function bytesOf(/** @type {Blob} */ blob) {
  return [...new Uint8Array(await blob.arrayBuffer())];
}

/**
 * The server: files above `threshold` bytes go up in parts of `partSize`. `calls` logs every
 * request in words ("create", "sign 1,2", "PUT 3"…); `override[route]` can replace a route:
 * `async ({id, body, next, headers}) => answer`, where `next()` is the normal answer ({status, body}).
 */
export function fakeServer({
  threshold = 10,
  partSize = 5,
  base = "/api/media/",
  firstParts = 2,
  exposeETags = true,
  analysedLimits = false,
} = {}) {
  /** @type {Map<string, Entry>} */
  const records = new Map();
  /** @type {string[]} */
  const calls = [];
  /** @type {Hooks} */
  const hooks = { beforePut: async () => {}, beforePost: async () => {} };
  /** @type {Record<string, Override>} */
  const override = {};
  /** @type {Set<string>} records the server signs nothing more for */
  const pastDeadline = new Set();
  let created = 0;
  /** @type {Map<string, string>} Idempotency-Key → record id, as the server remembers them */
  const keys = new Map();

  /** @returns {Answer} */
  const ok = (/** @type {Record<string, any>} */ body, status = 200) => ({ status, body });
  /** @returns {Answer} */
  const refuse = (/** @type {number} */ status, /** @type {string} */ detail, /** @type {string} */ code, extra = {}) => ({
    status,
    body: { detail, code, ...extra },
  });
  /** @typedef {Entry["record"]} Kept */
  const plan = (/** @type {Kept} */ record) => ({ part_size: partSize, part_count: Math.ceil(record.size / partSize) });
  const sizeOf = (/** @type {Kept} */ record, /** @type {number} */ n) => Math.min(partSize, record.size - (n - 1) * partSize);
  /** @returns {UploadDescriptor} */
  const describeUpload = (/** @type {Kept} */ record) =>
    record.upload_method === "multipart"
      ? { method: "multipart", ...plan(record), expires_at: later(86_400_000), first_parts: null }
      : { method: "post", url: "https://s3.test/bucket", fields: { key: record.key, policy: "p" }, expires_at: later(60_000) };
  const signed = (/** @type {Kept} */ record, /** @type {number[]} */ numbers) => ({
    expires_at: later(60_000),
    parts: numbers.map((n) => ({
      part_number: n,
      url: `https://s3.test/bucket/${record.id}?partNumber=${n}&size=${sizeOf(record, n)}`,
      size: sizeOf(record, n),
    })),
  });
  const withFirstParts = (/** @type {UploadDescriptor} */ upload, /** @type {Kept} */ record) => {
    if (upload.method !== "multipart") return upload;
    const count = Math.min(upload.part_count, firstParts);
    return {
      ...upload,
      first_parts: count
        ? signed(
            record,
            Array.from({ length: count }, (_, i) => i + 1),
          )
        : null,
    };
  };
  const view = (/** @type {Entry} */ entry) => ({
    ...entry.record,
    download_url: entry.record.status === "uploaded" ? `https://s3.test/bucket/${entry.record.key}?signed` : null,
    field_check: entry.record.status === "uploaded" ? entry.check : null,
  });
  const conflict = (/** @type {Entry} */ entry, /** @type {string} */ detail, /** @type {string} */ code) =>
    refuse(409, detail, code, { status: entry.record.status });
  const pending = (/** @type {Entry} */ entry) =>
    entry.record.status === "pending" ? null : conflict(entry, `This upload is ${entry.record.status}.`, "not_pending");
  const authorisable = (/** @type {Entry} */ entry) =>
    pending(entry) ?? (pastDeadline.has(entry.record.id) ? conflict(entry, "This upload's deadline has passed.", "upload_expired") : null);
  const held = (/** @type {Entry} */ entry) =>
    [...entry.parts.entries()].sort(([a], [b]) => a - b).map(([n, bytes]) => ({ part_number: n, size: bytes.length, etag: `"e${n}"` }));

  /** @type {Record<string, Route>} */
  const routes = {
    create(_, body, __, headers) {
      const key = headers?.["Idempotency-Key"];
      const known = key ? records.get(keys.get(key) ?? "") : undefined;
      if (known) return ok({ ...view(known), upload: describeUpload(known.record) }, 201);
      created += 1;
      const id = `r${created}`;
      /** @type {Kept} */
      const record = {
        id,
        key: `incoming/${id}.mp4`,
        filename: body.filename,
        content_type: body.content_type,
        size: body.size,
        status: "pending",
        upload_method: body.size > threshold ? "multipart" : "post",
        bytes_confirmed: 0,
        etag: "",
        failure_reason: "",
        created_at: `2026-11-${String(created).padStart(2, "0")}T00:00:00Z`,
        uploaded_at: null,
        ...NOT_ANALYSED,
      };
      /** @type {Entry} */
      const entry = { record, parts: new Map(), object: null, field: body.field ?? "", check: null };
      records.set(id, entry);
      if (key) keys.set(key, id);
      return ok({ ...view(entry), upload: withFirstParts(describeUpload(record), record) }, 201);
    },
    get: (entry) => ok(view(entry)),
    authorize: (entry) => authorisable(entry) ?? ok({ upload: describeUpload(entry.record) }),
    sign(entry, body) {
      const numbers = body.part_numbers;
      if (!Array.isArray(numbers) || !numbers.length || numbers.length > 100) {
        return refuse(400, "Ask for 1 to 100 parts.", "invalid", { fields: { part_numbers: ["1 to 100."] } });
      }
      if (entry.record.upload_method !== "multipart") return conflict(entry, "A single POST has no parts.", "not_multipart");
      return authorisable(entry) ?? ok(signed(entry.record, numbers));
    },
    "list-parts"(entry) {
      const refusal = pending(entry);
      if (refusal) return refusal;
      const parts = held(entry);
      const have = new Set(parts.map((part) => part.part_number));
      const missing = [];
      for (let n = 1; n <= plan(entry.record).part_count; n += 1) if (!have.has(n)) missing.push(n);
      return ok({ ...plan(entry.record), bytes_confirmed: parts.reduce((sum, part) => sum + part.size, 0), parts, missing });
    },
    complete(entry, body) {
      entry.named = body?.parts ?? null; // the parts (and ETags) the last complete named, if any
      const completed = () => ok({ ...view(entry), field_value: entry.field ? `signed:${entry.record.id}:${entry.field}` : null });
      if (entry.record.status !== "pending") {
        const code =
          /** @type {Record<string, string>} */ ({ failed: "upload_failed", expired: "upload_expired" })[entry.record.status] ??
          "not_pending";
        return entry.record.status === "uploaded" ? completed() : conflict(entry, "This upload was not completed.", code);
      }
      if (entry.record.upload_method === "multipart") {
        const { part_count: count } = plan(entry.record);
        const missing = [];
        for (let n = 1; n <= count; n += 1) if (entry.parts.get(n)?.length !== sizeOf(entry.record, n)) missing.push(n);
        if (missing.length) return conflict(entry, `Parts not uploaded yet: ${missing.join(", ")}.`, "not_received");
        const whole = new Uint8Array(entry.record.size);
        for (const [n, bytes] of entry.parts) whole.set(bytes, (n - 1) * partSize);
        entry.object = whole;
      }
      if (!entry.object) return conflict(entry, "The bucket holds no file for this upload yet.", "not_received");
      entry.record.status = "uploaded";
      entry.record.uploaded_at = "2026-11-30T00:00:00Z";
      entry.record.analysis = analysisOf("pending");
      if (entry.field) entry.check = checkOf(analysedLimits ? "checking" : "accepted");
      return completed();
    },
    abort(entry) {
      if (entry.record.status === "aborted") return ok(view(entry));
      const refusal = pending(entry);
      if (refusal) return refusal;
      entry.parts.clear();
      entry.object = null;
      entry.record.status = "aborted";
      return ok(view(entry));
    },
    list: (_, __, query) => {
      const size = Number(query.get("page_size")) || 20;
      let results = [...records.values()].reverse().map(view);
      if (query.get("status")) results = results.filter((record) => record.status === query.get("status"));
      return ok({ count: results.length, next: null, previous: null, results: results.slice(0, size) });
    },
  };
  routes["list-pending"] = routes.list;

  /**
   * Which route a request is, and for which record.
   * @returns {[string, string | null]}
   */
  function route(/** @type {string} */ method, /** @type {string} */ path, /** @type {URLSearchParams} */ query) {
    if (path === "") {
      if (method === "POST") return ["create", null];
      return [query.get("status") === "pending" ? "list-pending" : "list", null];
    }
    const [id, action = ""] = path.split("/").filter(Boolean);
    /** @type {Record<string, string>} */
    const names = {
      "GET ": "get",
      "POST authorize": "authorize",
      "POST parts": "sign",
      "GET parts": "list-parts",
      "POST complete": "complete",
      "POST abort": "abort",
      "POST field-value": "field-value",
    };
    return [names[`${method} ${action}`] ?? `${method} ${action}`, id];
  }

  /** The API, as the client's fetch reaches it. */
  async function fetch(/** @type {string | URL | Request} */ url, /** @type {RequestInit} */ init = {}) {
    const parsed = new URL(String(url), "http://app.test");
    const path = parsed.pathname.slice(base.length);
    const body = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
    const headers = /** @type {Record<string, string>} */ (init.headers ?? {});
    const [name, id] = route(init.method ?? "GET", path, parsed.searchParams);
    calls.push(id ? (name === "sign" ? `sign ${body.part_numbers.join(",")}` : `${name} ${id}`) : name);
    if (init.method !== "GET" && !headers["X-CSRFToken"]) throw new Error("a write without the CSRF header");
    const next = async () => {
      const entry = id ? records.get(id) : null;
      if ((id && !entry) || !routes[name]) return refuse(404, "Not found.", "not_found");
      // A route without a record (create, the lists) ignores it.
      return routes[name](/** @type {Entry} */ (entry), body, parsed.searchParams, headers);
    };
    const answer = override[name] ? await override[name]({ id, body, next, headers }) : await next();
    init.signal?.throwIfAborted();
    if (answer === "network") throw new TypeError("Failed to fetch");
    return new Response(JSON.stringify(answer.body), { status: answer.status, headers: answer.headers ?? {} });
  }

  /** The browser's POST of a form to the bucket. @type {FormSender} */
  async function postForm({ fields, file, signal, onProgress }) {
    calls.push("POST");
    await hooks.beforePost();
    signal.throwIfAborted();
    const entry = [...records.values()].find((candidate) => candidate.record.key === fields.key);
    if (!entry) throw storageError(403, "<Error><Code>AccessDenied</Code></Error>", protocol);
    onProgress(Math.floor(file.size / 2));
    entry.object = new Uint8Array(await file.arrayBuffer());
    onProgress(file.size);
  }

  /** The browser's PUT of one part: storage takes exactly the signed length, no more, no less. @type {PutSender} */
  async function putPart({ url, body, signal, onProgress }) {
    const parsed = new URL(url);
    const id = parsed.pathname.split("/").pop() ?? "";
    const number = Number(parsed.searchParams.get("partNumber"));
    calls.push(`PUT ${number}`);
    await hooks.beforePut(number, signal);
    await tick();
    signal.throwIfAborted();
    if (body.size !== Number(parsed.searchParams.get("size"))) {
      throw storageError(403, "<Error><Code>SignatureDoesNotMatch</Code><Message>Content-Length</Message></Error>", protocol);
    }
    onProgress(body.size);
    const entry = records.get(id);
    if (!entry) throw storageError(404, "<Error><Code>NoSuchUpload</Code></Error>", protocol);
    entry.parts.set(number, new Uint8Array(await body.arrayBuffer()));
    return exposeETags ? `"e${number}"` : ""; // the ETag a listing shows for the part, too
  }

  /** The record `id` and what its bucket holds (a test's mistake when there is none). */
  function entry(/** @type {string | null} */ id) {
    const found = id === null ? undefined : records.get(id);
    if (!found) throw new Error(`The fake server has no record ${id}.`);
    return found;
  }

  /**
   * Finish the analysis of record `id`, as a worker would: `done` by default, with what it found,
   * and, for a record made for a field, the field's verdict (`accepted` unless given).
   * @param {string} id
   * @param {Partial<Pick<MediaRecord, "metadata" | "poster_url" | "thumbnail_url">> & {status?: "running" | "done" | "failed",
   *   reason?: string, detail?: string, check?: FieldCheck}} found
   */
  function analyse(id, { status = "done", reason, detail, check, ...found }) {
    const { record, field } = entry(id);
    record.analysis = analysisOf(status, { reason, detail });
    Object.assign(record, found);
    if (field) entry(id).check = check ?? checkOf(status === "running" ? "checking" : "accepted");
  }

  return { fetch, postForm, putPart, records, entry, calls, hooks, override, pastDeadline, refuse, analyse };
}

/** The fake server, as tests hold it. */
/** @typedef {ReturnType<typeof fakeServer>} FakeServer */

/** Count how many POST uploads the bucket holds open at once; `most()` is the highest so far. */
export function countPostsInFlight(/** @type {FakeServer} */ server, { ticks = 1 } = {}) {
  let inFlight = 0;
  let most = 0;
  server.hooks.beforePost = async () => {
    inFlight += 1;
    most = Math.max(most, inFlight);
    for (let n = 0; n < ticks; n += 1) await tick();
    inFlight -= 1;
  };
  return { most: () => most };
}

/** A lost connection, as the XHR senders report it. */
export const connectionLost = () => storageUnreachable("The connection to storage failed (network or CORS).", protocol);

/** Storage refusing a request with its XML error body (`code`, `message`). */
export const s3Refusal = (/** @type {number} */ status, /** @type {string} */ code, message = "") =>
  storageError(status, `<Error><Code>${code}</Code><Message>${message}</Message></Error>`, protocol);
