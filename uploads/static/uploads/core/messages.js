// @ts-check
// What an upload says about its course, in plain words: why it stopped, that it retries, renews,
// resumes or starts again. (Each status's own name is in states.js.)

import { ApiError, attemptsOf, isSignatureExpired, StorageError } from "./errors.js";
import { formatBytes, formatDuration } from "./format.js";

/** A try that failed and the wait before the next; `offline` when the browser knows it is. */
/** @typedef {{error: unknown, delay: number, offline?: boolean}} RetryNote */

/** Fixed sentences, said as an upload moves. */
export const SAY = Object.freeze({
  paused: "Paused. The parts already sent are kept.",
  cancelling: "Cancelling…",
  cancelled: "Cancelled.",
  cancelledClean: "Cancelled. Nothing was kept in storage.",
  finishedFirst: "It finished before it could be cancelled.",
  renewing: "Upload permission expired. Renewing…",
  offline: "You are offline. The upload goes on when the connection is back…",
  restarting: "The earlier upload could not go on; starting it again as a new upload.",
});

/** Explain, in a sentence or two, why an upload stopped. */
export function describeError(/** @type {unknown} */ error) {
  if (error instanceof StorageError) {
    if (error.status === 0) {
      return "Could not reach storage: the network connection was lost, " + "or the bucket does not accept uploads from this site (CORS).";
    }
    if (isSignatureExpired(error)) {
      return "The upload permission kept expiring. Check this computer's clock, then retry.";
    }
    if (error.status >= 500) {
      const what = error.code ? `${error.status} ${error.code}` : String(error.status);
      return `Storage is having trouble (${what}). Try again later.`;
    }
    const why = [error.code, error.detail].filter(Boolean).join(": ");
    return `Storage refused the file (${why || error.status}). Its upload policy or CORS rules do not allow it.`;
  }
  if (error instanceof ApiError) {
    if (error.status === 0) return "Could not reach the server. Check your connection, then retry.";
    if (error.status === 401 || error.status === 403) return "Your session has ended. Sign in again, then retry.";
    if (error.status === 404) return "This upload no longer exists on the server.";
    const fields = Object.values(error.fields ?? {}).flat();
    if (error.status === 400 && fields.length) return `The server refused the file: ${fields.join(" ")}`;
    return error.message;
  }
  return error instanceof Error && error.message ? error.message : "Something went wrong.";
}

/** Why an upload stopped, saying so when it gave up after several tries. */
export function describeFailure(/** @type {unknown} */ error) {
  const tries = attemptsOf(error);
  return `${tries > 1 ? `Gave up after ${tries} tries. ` : ""}${describeError(error)}`;
}

/**
 * Say that a try failed and another follows, e.g. "Connection lost. Retrying in 3 s…".
 * @param {RetryNote} retry
 */
export function describeRetry({ error, delay, offline = false }) {
  if (offline) return SAY.offline;
  const when = delay >= 1000 ? ` in ${formatDuration(delay / 1000)}` : "";
  if (error instanceof StorageError) {
    return error.status === 0 ? `Connection lost. Retrying${when}…` : `Storage is busy. Retrying${when}…`;
  }
  if (error instanceof ApiError && error.status === 0) return `The server cannot be reached. Retrying${when}…`;
  return `The server is busy. Retrying${when}…`;
}

/** Say how much of a resumed file storage already held ("" when nothing). */
export function describeResumed(/** @type {number} */ bytes) {
  return bytes > 0 ? `Resumed: ${formatBytes(bytes)} was already in storage.` : "";
}

/** Say that a cancel did not go through. */
export function describeCancelFailure(/** @type {unknown} */ error) {
  return `Could not cancel: ${describeError(error)}`;
}
