// The mediaupload API, as the page calls it: JSON over fetch with the session cookie and CSRF token.

/** An API answer that was not 2xx, with a message a person can read. */
export class ApiError extends Error {
  constructor(status, body) {
    super(describeApiError(status, body));
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

/** Turn a DRF error body ({detail} or {field: [messages]}) into one sentence. */
export function describeApiError(status, body) {
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

/** Make a client for the API rooted at `base` (e.g. "/api/media/"). */
export function createApi({ base, csrfToken }) {
  async function request(method, path, body) {
    const response = await fetch(base + path, {
      method,
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...(method === "GET" ? {} : { "X-CSRFToken": csrfToken }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  return {
    create: (file) =>
      request("POST", "", { filename: file.name, content_type: file.type, size: file.size }),
    complete: (id) => request("POST", `${id}/complete/`),
    list: () => request("GET", "?page_size=10"),
  };
}
