// Moving bytes to S3 from the browser with XHR (fetch has no upload progress): a signed POST form
// for small files and a signed PUT per multipart part.

/** How long an upload may go without progress before it counts as a lost connection. */
export const STALL_MS = 60_000;
/** How long to wait for S3's answer once the whole body is sent (socket buffers drain slowly). */
export const ANSWER_MS = 5 * 60_000;

/** S3 (or the network, status 0) refused the transfer. */
export class TransferError extends Error {
  constructor(message, { status = 0, code = "", detail = "" } = {}) {
    super(message);
    this.name = "TransferError";
    this.source = "storage";
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

/** Read S3's XML error body (<Error><Code>…</Code><Message>…</Message></Error>). */
export function parseS3Error(xml) {
  const pick = (tag) => {
    const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml || "");
    return match ? match[1] : "";
  };
  return { code: pick("Code"), message: pick("Message") };
}

/** Build the error for a non-2xx answer from S3. */
export function storageError(status, body) {
  const { code, message } = parseS3Error(body);
  const what = code ? `${status} ${code}` : String(status);
  const text = `Storage refused the upload (${what})${message ? `: ${message}` : "."}`;
  return new TransferError(text, { status, code, detail: message });
}

/**
 * Send one request with XHR and report upload progress as (bytesSent, bytesTotal).
 * Resolves with {status, etag} on 2xx; rejects with a TransferError (code "Aborted" when `signal`
 * aborts, status 0 when the network or CORS failed, or nothing moved for `stallMs`).
 */
export function send({
  method,
  url,
  body,
  onProgress = () => {},
  signal,
  stallMs = STALL_MS,
  answerMs = ANSWER_MS,
}) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new TransferError("The upload was stopped.", { code: "Aborted" }));
      return;
    }
    const xhr = new XMLHttpRequest();
    let stallTimer = 0;
    let settled = false;
    const finish = (outcome, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(stallTimer);
      signal?.removeEventListener("abort", onAbort);
      outcome(value);
    };
    // A dropped connection can hang silently; no progress for a minute is treated as one.
    const armStallTimer = (ms = stallMs) => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => {
        xhr.abort();
        const message = "Nothing moved for too long: the connection seems lost.";
        finish(reject, new TransferError(message, { code: "Stalled" }));
      }, ms);
    };
    const onAbort = () => {
      xhr.abort();
      finish(reject, new TransferError("The upload was stopped.", { code: "Aborted" }));
    };

    xhr.open(method, url);
    xhr.upload.addEventListener("progress", (event) => {
      armStallTimer();
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    xhr.upload.addEventListener("load", () => armStallTimer(answerMs));
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        finish(resolve, { status: xhr.status, etag: xhr.getResponseHeader("ETag") || "" });
      } else {
        finish(reject, storageError(xhr.status, xhr.responseText));
      }
    });
    xhr.addEventListener("error", () =>
      finish(reject, new TransferError("The connection to storage failed (network or CORS).")),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
    armStallTimer();
    xhr.send(body);
  });
}

/**
 * POST a file with a signed policy: every field first, then the file, last, as `file`
 * (S3 ignores fields after the file). Progress is scaled to the file's own size.
 */
export function postFile({ url, fields, file, onProgress = () => {}, signal }) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append("file", file);
  // The form's total includes field and boundary bytes; report progress in the file's bytes.
  const scaled = (loaded, total) =>
    onProgress(Math.min(file.size, Math.round((loaded / total) * file.size)), file.size);
  return send({ method: "POST", url, body: form, onProgress: scaled, signal }).then((result) => {
    onProgress(file.size, file.size);
    return result;
  });
}

/**
 * PUT one part (a Blob slice) to its presigned URL. No headers are added: the URL is signed for the
 * part's exact Content-Length and the host only, and the browser sets both.
 */
export function putPart({ url, body, onProgress = () => {}, signal }) {
  const capped = (loaded) => onProgress(Math.min(loaded, body.size));
  return send({ method: "PUT", url, body, onProgress: capped, signal });
}
