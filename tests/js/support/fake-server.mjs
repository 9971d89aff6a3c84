// The mediaupload API and its bucket, in memory, speaking the wire contract: a `fetch` for the API
// client, and a form sender and part sender standing in for the browser's XHRs against S3. The
// bucket refuses a part whose length is not the size it signed, as S3 does with a signed
// Content-Length, and `complete` assembles the parts the way the server does. A create may name a
// form's model field (kept as the entry's `field`); field-value/ signs `signed:<id>:<field>`. A new
// multipart upload comes with its first `firstParts` part URLs signed, as the server signs them.
// A part's ETag is `"e<n>"`, in the PUT's answer (unless `exposeETags` is off) and in listings.
import { StorageError } from "../../../uploads/static/uploads/errors.js";
import { storageError } from "../../../uploads/static/uploads/transfer.js";

export const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
const later = (ms) => new Date(Date.now() + ms).toISOString();

/** A file of `size` bytes whose bytes say where they come from, as the picker would give it. */
export function makeFile(size, name = "clip.mp4", type = "video/mp4") {
  const bytes = new Uint8Array(size).map((_, index) => index % 251);
  return new File([bytes], name, { type, lastModified: 1_700_000_000_000 });
}

/** Bytes of a Blob, as a plain array (to compare). */
export async function bytesOf(blob) {
  return [...new Uint8Array(await blob.arrayBuffer())];
}

/**
 * The server: files above `threshold` bytes go up in parts of `partSize`. `calls` logs every
 * request in words ("create", "sign 1,2", "PUT 3"…); `override[route]` can replace a route:
 * `async ({id, body, next, headers}) => answer`, where `next()` is the normal answer ({status, body}).
 */
export function fakeServer({ threshold = 10, partSize = 5, base = "/api/media/", firstParts = 2, exposeETags = true } = {}) {
  const records = new Map(); // id → {record, parts: Map(number → Uint8Array), object: Uint8Array | null}
  const calls = [];
  const hooks = { beforePut: async () => {}, beforePost: async () => {} };
  const override = {};
  const pastDeadline = new Set(); // records the server signs nothing more for
  let created = 0;
  const keys = new Map(); // Idempotency-Key → record id, as the server remembers them

  const ok = (body, status = 200) => ({ status, body });
  const refuse = (status, detail, code, extra = {}) => ({ status, body: { detail, code, ...extra } });
  const plan = (record) => ({ part_size: partSize, part_count: Math.ceil(record.size / partSize) });
  const sizeOf = (record, n) => Math.min(partSize, record.size - (n - 1) * partSize);
  const describeUpload = (record) =>
    record.upload_method === "multipart"
      ? { method: "multipart", ...plan(record), expires_at: later(86_400_000) }
      : { method: "post", url: "https://s3.test/bucket", fields: { key: record.key, policy: "p" }, expires_at: later(60_000) };
  const signed = (record, numbers) => ({
    expires_at: later(60_000),
    parts: numbers.map((n) => ({
      part_number: n,
      url: `https://s3.test/bucket/${record.id}?partNumber=${n}&size=${sizeOf(record, n)}`,
      size: sizeOf(record, n),
    })),
  });
  const withFirstParts = (upload, record) => {
    if (upload.method !== "multipart") return upload;
    const count = Math.min(upload.part_count, firstParts);
    return { ...upload, first_parts: count ? signed(record, Array.from({ length: count }, (_, i) => i + 1)) : null };
  };
  const view = (entry) => ({
    ...entry.record,
    download_url: entry.record.status === "uploaded" ? `https://s3.test/bucket/${entry.record.key}?signed` : null,
  });
  const conflict = (entry, detail, code) => refuse(409, detail, code, { status: entry.record.status });
  const pending = (entry) =>
    entry.record.status === "pending" ? null : conflict(entry, `This upload is ${entry.record.status}.`, "not_pending");
  const authorisable = (entry) =>
    pending(entry) ??
    (pastDeadline.has(entry.record.id) ? conflict(entry, "This upload's deadline has passed.", "upload_expired") : null);
  const held = (entry) =>
    [...entry.parts.entries()].sort(([a], [b]) => a - b).map(([n, bytes]) => ({ part_number: n, size: bytes.length, etag: `"e${n}"` }));

  const routes = {
    create(_, body, __, headers) {
      const key = headers?.["Idempotency-Key"];
      if (key && keys.has(key)) {
        const entry = records.get(keys.get(key));
        return ok({ ...view(entry), upload: describeUpload(entry.record) }, 201);
      }
      created += 1;
      const id = `r${created}`;
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
      };
      const entry = { record, parts: new Map(), object: null, field: body.field ?? "" };
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
      return (
        authorisable(entry) ??
ok(signed(entry.record, numbers))
      );
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
      if (entry.record.status !== "pending") {
        return entry.record.status === "uploaded" ? ok(view(entry)) : conflict(entry, "This upload was not completed.", entry.record.status);
      }
      if (entry.record.upload_method === "multipart") {
        const { part_count: count } = plan(entry.record);
        const missing = [];
        for (let n = 1; n <= count; n += 1) if (entry.parts.get(n)?.length !== sizeOf(entry.record, n)) missing.push(n);
        if (missing.length) return conflict(entry, `Parts not uploaded yet: ${missing.join(", ")}.`, "not_received");
        const whole = new Uint8Array(entry.record.size);
        for (let n = 1; n <= count; n += 1) whole.set(entry.parts.get(n), (n - 1) * partSize);
        entry.object = whole;
      }
      if (!entry.object) return conflict(entry, "The bucket holds no file for this upload yet.", "not_received");
      entry.record.status = "uploaded";
      entry.record.uploaded_at = "2026-11-30T00:00:00Z";
      return ok(view(entry));
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
    "field-value"(entry, body) {
      if (typeof body?.field !== "string" || !body.field) {
        return refuse(400, "field: This field is required.", "invalid", { fields: { field: ["This field is required."] } });
      }
      if (entry.record.status !== "uploaded") return conflict(entry, "This upload is not uploaded yet.", "not_uploaded");
      return ok({ value: `signed:${entry.record.id}:${body.field}` });
    },
    list: (_, __, query) => {
      const size = Number(query.get("page_size")) || 20;
      let results = [...records.values()].reverse().map(view);
      if (query.get("status")) results = results.filter((record) => record.status === query.get("status"));
      return ok({ count: results.length, next: null, previous: null, results: results.slice(0, size) });
    },
  };

  /** Which route a request is, and for which record. */
  function route(method, path, query) {
    if (path === "") {
      if (method === "POST") return ["create", null];
      return [query.get("status") === "pending" ? "list-pending" : "list", null];
    }
    const [id, action = ""] = path.split("/").filter(Boolean);
    const name = { "GET ": "get", "POST authorize": "authorize", "POST parts": "sign", "GET parts": "list-parts", "POST complete": "complete", "POST abort": "abort", "POST field-value": "field-value" }[`${method} ${action}`];
    return [name, id];
  }

  async function fetch(url, init = {}) {
    const parsed = new URL(url, "http://app.test");
    const path = parsed.pathname.slice(base.length);
    const body = init.body ? JSON.parse(init.body) : undefined;
    const [name, id] = route(init.method ?? "GET", path, parsed.searchParams);
    calls.push(id ? (name === "sign" ? `sign ${body.part_numbers.join(",")}` : `${name} ${id}`) : name);
    if (init.method !== "GET" && !init.headers?.["X-CSRFToken"]) throw new Error("a write without the CSRF header");
    const next = async () => {
      const entry = id ? records.get(id) : null;
      if (id && !entry) return refuse(404, "Not found.", "not_found");
      return (routes[name] ?? routes.list)(entry, body, parsed.searchParams, init.headers);
    };
    const answer = override[name] ? await override[name]({ id, body, next, headers: init.headers ?? {} }) : await next();
    init.signal?.throwIfAborted();
    if (answer === "network") throw new TypeError("Failed to fetch");
    return new Response(JSON.stringify(answer.body), { status: answer.status, headers: answer.headers ?? {} });
  }

  /** The browser's POST of a form to the bucket. */
  async function postForm({ fields, file, signal, onProgress }) {
    calls.push("POST");
    await hooks.beforePost();
    signal.throwIfAborted();
    const entry = [...records.values()].find((candidate) => candidate.record.key === fields.key);
    if (!entry) throw storageError(403, "<Error><Code>AccessDenied</Code></Error>");
    onProgress(Math.floor(file.size / 2));
    entry.object = new Uint8Array(await file.arrayBuffer());
    onProgress(file.size);
  }

  /** The browser's PUT of one part: storage takes exactly the signed length, no more, no less. */
  async function putPart({ url, body, signal, onProgress }) {
    const parsed = new URL(url);
    const id = parsed.pathname.split("/").pop();
    const number = Number(parsed.searchParams.get("partNumber"));
    calls.push(`PUT ${number}`);
    await hooks.beforePut(number, signal);
    await tick();
    signal.throwIfAborted();
    if (body.size !== Number(parsed.searchParams.get("size"))) {
      throw storageError(403, "<Error><Code>SignatureDoesNotMatch</Code><Message>Content-Length</Message></Error>");
    }
    onProgress(body.size);
    records.get(id).parts.set(number, new Uint8Array(await body.arrayBuffer()));
    return exposeETags ? `"e${number}"` : ""; // the ETag a listing shows for the part, too
  }

  return { fetch, postForm, putPart, records, calls, hooks, override, pastDeadline, refuse };
}

/** A lost connection, as the XHR senders report it. */
/** Count how many POST uploads the bucket holds open at once; `most()` is the highest so far. */
export function countPostsInFlight(server, { ticks = 1 } = {}) {
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

export const connectionLost = () => new StorageError("The connection to storage failed (network or CORS).");
