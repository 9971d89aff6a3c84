// The mediaupload API, as the page calls it: JSON over fetch with the session cookie and CSRF token.

/** An API answer that was not 2xx (status 0: no answer at all), with a message a person can read. */
export class ApiError extends Error {
  constructor(status, body, { retryAfterMs = 0 } = {}) {
    super(describeApiError(status, body));
    this.name = "ApiError";
    this.source = "api";
    this.status = status;
    this.body = body;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Tell whether the server refused to authorise a record whose upload deadline has passed. */
export function isUploadExpired(error) {
  return error instanceof ApiError && error.status === 409 && error.body?.code === "upload_expired";
}

/** Turn a DRF error body ({detail} or {field: [messages]}) into one sentence. */
export function describeApiError(status, body) {
  if (status === 0) return "Could not reach the server.";
  if (body && typeof body === "object") {
    if (typeof body.detail === "string") return body.detail;
    const parts = Object.entries(body).map(([field, messages]) => {
      const text = Array.isArray(messages) ? messages.join(" ") : String(messages);
      return field === "non_field_errors" ? text : `${field}: ${text}`;
    });
    if (parts.length) return parts.join(" ");
  }
  return `The server answered ${status}.`;
}

/** Read a Retry-After header given in seconds (the form DRF's throttling sends). */
function retryAfterMs(response) {
  const seconds = Number(response.headers.get("Retry-After"));
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
}

/** Make a client for the API rooted at `base` (e.g. "/api/media/"). */
export function createApi({ base, csrfToken, fetch = globalThis.fetch.bind(globalThis) }) {
  async function request(method, path, body, signal) {
    let response;
    try {
      response = await fetch(base + path, {
        method,
        credentials: "same-origin",
        signal,
        headers: {
          Accept: "application/json",
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          ...(method === "GET" ? {} : { "X-CSRFToken": csrfToken }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      if (error?.name === "AbortError") throw error;
      throw new ApiError(0, null); // fetch rejects only when no answer came back at all
    }
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      throw new ApiError(response.status, data, { retryAfterMs: retryAfterMs(response) });
    }
    return data;
  }

  return {
    /** Declare a file: 201 with the pending record and its `upload` descriptor. */
    create: (file, signal) =>
      request(
        "POST",
        "",
        { filename: file.name, content_type: file.type.toLowerCase(), size: file.size },
        signal,
      ),
    /** Read one record. */
    get: (id, signal) => request("GET", `${id}/`, undefined, signal),
    /** Fresh authorisation for a pending record (same key): a POST policy or the multipart plan. */
    authorize: (id, signal) => request("POST", `${id}/authorize/`, undefined, signal),
    /** Signed PUT URLs for these parts (at most 100 a call). */
    signParts: (id, partNumbers, signal) =>
      request("POST", `${id}/parts/`, { part_numbers: partNumbers }, signal),
    /** The parts S3 already holds, for resuming. */
    listParts: (id, signal) => request("GET", `${id}/parts/`, undefined, signal),
    /** Ask the server to verify (and for multipart, assemble) the file. */
    complete: (id, signal) => request("POST", `${id}/complete/`, undefined, signal),
    /** Cancel: the server frees the parts, deletes any object and marks the record aborted. */
    abort: (id, signal) => request("POST", `${id}/abort/`, undefined, signal),
    /** The newest records, for the "My uploads" list. */
    list: (pageSize = 10, signal) => request("GET", `?page_size=${pageSize}`, undefined, signal),
    /** Pending records, newest first: where a resumable upload may be found without localStorage. */
    listPending: (signal) => request("GET", "?status=pending&page_size=100", undefined, signal),
  };
}
