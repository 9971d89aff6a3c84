// @ts-check
// Moving bytes to storage with XHR (fetch has no upload progress): a signed POST form for small
// files and a signed PUT per part. Also the one place storage's answers are read, by the
// protocol's storage rules. The XHR class is given (the browser's by default).

import { abortError, StorageError } from "./errors.js";

/** @import { Protocol } from "./protocol.js" */

/**
 * POST a file with its signed policy fields (the file last, as `file`); progress in file bytes.
 * @typedef {(request: {url: string, fields: Record<string, string>, file: Blob, signal: AbortSignal,
 *   onProgress: (bytes: number) => void}) => Promise<void>} FormSender
 */

/**
 * PUT one part, exactly the `body` its URL was signed for; resolves once storage holds it, with the
 * ETag storage answered ("" when its CORS rules do not expose it: the server then lists the parts).
 * @typedef {(request: {url: string, body: Blob, signal: AbortSignal,
 *   onProgress: (bytes: number) => void}) => Promise<string>} PutSender
 */

/**
 * The ETag of a finished request, if storage's CORS rules expose it. Read from the list of exposed
 * headers: asking for a hidden one by name makes the browser log an error.
 */
export function exposedETag(/** @type {{getAllResponseHeaders(): string}} */ xhr) {
  const line = xhr
    .getAllResponseHeaders()
    .split("\r\n")
    .find((header) => header.toLowerCase().startsWith("etag:"));
  return line ? line.slice(line.indexOf(":") + 1).trim() : "";
}

/** How long an upload may go without progress before it counts as a lost connection. */
const STALL_MS = 60_000;
/** How long to wait for storage's answer once the whole body is sent (socket buffers drain slowly). */
const ANSWER_MS = 5 * 60_000;

/** Read S3's XML error body (<Error><Code>…</Code><Message>…</Message></Error>). */
export function parseS3Error(/** @type {string} */ xml) {
  const pick = (/** @type {string} */ tag) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml || "")?.[1] ?? "";
  return { code: pick("Code"), message: pick("Message") };
}

/** The error for a non-2xx answer from storage, with what the protocol says to do about it. */
export function storageError(/** @type {number} */ status, /** @type {string} */ body, /** @type {Protocol} */ protocol) {
  const { code, message } = parseS3Error(body);
  const what = code ? `${status} ${code}` : String(status);
  const text = `Storage refused the upload (${what})${message ? `: ${message}` : "."}`;
  return new StorageError(text, { status, code, detail: message, action: protocol.storageAction(status, code, message) });
}

/** The error for storage not answering at all (`code` says how, when we know). */
export function storageUnreachable(/** @type {string} */ message, /** @type {Protocol} */ protocol, code = "") {
  return new StorageError(message, { code, action: protocol.storageAction(0, code, "") });
}

/**
 * The senders, over `Xhr` (XMLHttpRequest unless a test gives its own).
 * @param {{protocol: Protocol, Xhr?: typeof XMLHttpRequest, stallMs?: number, answerMs?: number}} options
 * @returns {{postForm: FormSender, putPart: PutSender}}
 */
export function createXhrSenders({ protocol, Xhr = globalThis.XMLHttpRequest, stallMs = STALL_MS, answerMs = ANSWER_MS }) {
  /**
   * Send one request, reporting upload progress as (sent, total). Resolves on 2xx;
   * rejects with an AbortError when `signal` aborts, else a StorageError (status 0 when the network
   * or CORS failed, or nothing moved for `stallMs`).
   * @param {{method: string, url: string, body: XMLHttpRequestBodyInit, signal: AbortSignal,
   *   onProgress: (loaded: number, total: number) => void}} request
   * @returns {Promise<XMLHttpRequest>} the finished request
   */
  function send({ method, url, body, signal, onProgress }) {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(abortError("The upload was stopped."));
        return;
      }
      const xhr = new Xhr();
      /** @type {ReturnType<typeof setTimeout> | undefined} */
      let stallTimer;
      let settled = false;
      /** @type {(outcome: () => void) => void} */
      const finish = (outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(stallTimer);
        signal.removeEventListener("abort", onAbort);
        outcome();
      };
      // A dropped connection can hang silently; no progress for a minute is treated as one.
      const armStallTimer = (ms = stallMs) => {
        clearTimeout(stallTimer);
        stallTimer = setTimeout(() => {
          xhr.abort();
          const message = "Nothing moved for too long: the connection seems lost.";
          finish(() => reject(storageUnreachable(message, protocol, "Stalled")));
        }, ms);
      };
      const onAbort = () => {
        xhr.abort();
        finish(() => reject(abortError("The upload was stopped.")));
      };
      xhr.open(method, url);
      xhr.upload.addEventListener("progress", (event) => {
        armStallTimer();
        if (event.lengthComputable) onProgress(event.loaded, event.total);
      });
      xhr.upload.addEventListener("load", () => armStallTimer(answerMs));
      xhr.addEventListener("load", () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          finish(() => resolve(xhr));
        } else {
          finish(() => reject(storageError(xhr.status, xhr.responseText, protocol)));
        }
      });
      xhr.addEventListener("error", () =>
        finish(() => reject(storageUnreachable("The connection to storage failed (network or CORS).", protocol))),
      );
      signal.addEventListener("abort", onAbort, { once: true });
      armStallTimer();
      xhr.send(body);
    });
  }

  return {
    async postForm({ url, fields, file, signal, onProgress }) {
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) form.append(name, value);
      form.append("file", file); // last: S3 ignores fields after the file
      // The form's total includes field and boundary bytes; report progress in the file's bytes.
      const scaled = (/** @type {number} */ loaded, /** @type {number} */ total) =>
        onProgress(Math.min(file.size, Math.round((loaded / total) * file.size)));
      await send({ method: "POST", url, body: form, signal, onProgress: scaled });
      onProgress(file.size);
    },
    // No headers are added: the URL is signed for the part's exact Content-Length and the host
    // only, and the browser sets both.
    putPart: async ({ url, body, signal, onProgress }) => {
      const onBytes = (/** @type {number} */ loaded) => onProgress(Math.min(loaded, body.size));
      return exposedETag(await send({ method: "PUT", url, body, signal, onProgress: onBytes }));
    },
  };
}
