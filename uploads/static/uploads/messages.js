// Everything the page says about an upload, in plain words: statuses, errors, retries.

import { formatDuration } from "./format.js";
import { isExpired } from "./retry.js";

/** What each status (the record's, or the page's own) is called on screen. */
export const STATUS_TEXT = Object.freeze({
  queued: "Waiting for its turn",
  preparing: "Preparing…",
  uploading: "Uploading…",
  paused: "Paused",
  verifying: "Checking the file in storage…",
  cancelling: "Cancelling…",
  uploaded: "Uploaded",
  pending: "Not finished",
  failed: "Failed",
  expired: "Expired",
  aborted: "Cancelled",
  rejected: "Not accepted",
});

/** The status in words (unknown statuses are shown as they are). */
export function statusText(status) {
  return STATUS_TEXT[status] ?? status;
}

/** Join the messages of a DRF validation body, leaving out the field names people do not need. */
function fieldMessages(body) {
  return Object.values(body)
    .flatMap((messages) => (Array.isArray(messages) ? messages : [String(messages)]))
    .join(" ");
}

/** Explain, in a sentence or two, why an upload stopped. */
export function describeError(error) {
  if (error?.source === "storage") {
    if (error.status === 0) {
      return (
        "Could not reach storage: the network connection was lost, " +
        "or the bucket does not accept uploads from this site (CORS)."
      );
    }
    if (isExpired(error)) {
      return "The upload permission kept expiring. Check this computer's clock, then retry.";
    }
    if (error.status >= 500) {
      const what = error.code ? `${error.status} ${error.code}` : String(error.status);
      return `Storage is having trouble (${what}). Try again later.`;
    }
    const why = [error.code, error.detail].filter(Boolean).join(": ");
    const because = why ? ` (${why})` : ` (${error.status})`;
    return `Storage refused the file${because}. Its upload policy or CORS rules do not allow it.`;
  }
  if (error?.source === "api") {
    const { status, body } = error;
    if (status === 0) return "Could not reach the server. Check your connection, then retry.";
    if (status === 401 || status === 403) return "Your session has ended. Sign in again, then retry.";
    if (status === 404) return "This upload no longer exists on the server.";
    if (status === 400 && body && typeof body === "object" && typeof body.detail !== "string") {
      return `The server refused the file: ${fieldMessages(body)}`;
    }
    return error.message;
  }
  return error?.message || "Something went wrong.";
}

/** Say that a try failed and another follows, e.g. "Connection lost. Retrying in 3 s…". */
export function describeRetry({ error, delay, offline = false }) {
  if (offline) return "You are offline. The upload goes on when the connection is back…";
  const when = delay >= 1000 ? ` in ${formatDuration(delay / 1000)}` : "";
  if (error?.source === "storage") {
    if (error.status === 0) return `Connection lost. Retrying${when}…`;
    return `Storage is busy. Retrying${when}…`;
  }
  if (error?.status === 0) return `The server cannot be reached. Retrying${when}…`;
  return `The server is busy. Retrying${when}…`;
}

/** Say that a signed URL or policy expired and a fresh one is on its way. */
export function describeRenew() {
  return "Upload permission expired. Renewing…";
}
