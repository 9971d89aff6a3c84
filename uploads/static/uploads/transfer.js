// Moving bytes to S3 from the browser: a signed POST form sent with XHR for its progress events.

/** S3 (or the network) refused the transfer. */
export class TransferError extends Error {
  constructor(message, { status = 0, code = "" } = {}) {
    super(message);
    this.name = "TransferError";
    this.status = status;
    this.code = code;
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

/**
 * POST a file with a signed policy: every field first, then the file, last, as `file`
 * (S3 ignores fields after the file). Resolves when S3 answers 2xx.
 */
export function postFile({ url, fields, file, onProgress = () => {}, signal }) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append("file", file);

    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded, file.size);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size, file.size);
        resolve();
        return;
      }
      const { code, message } = parseS3Error(xhr.responseText);
      reject(
        new TransferError(
          `Storage refused the upload (${xhr.status}${code ? ` ${code}` : ""})${message ? `: ${message}` : "."}`,
          { status: xhr.status, code },
        ),
      );
    });
    xhr.addEventListener("error", () =>
      reject(new TransferError("The connection to storage failed (network or CORS).")),
    );
    xhr.addEventListener("abort", () => reject(new TransferError("The upload was cancelled.", { code: "Aborted" })));
    if (signal) signal.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}
