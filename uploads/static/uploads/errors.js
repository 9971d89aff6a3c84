// @ts-check
// What can go wrong, as typed errors, and the one place that decides what each means for an
// upload: try again, sign again, start a new record, or stop.

/** @import { RecordStatus } from "./answers.js" */

/**
 * An API answer that was not 2xx, read from the one error shape `{detail, code}` (a 409 adds the
 * record's `status`, a 400 its `fields`). Status 0: no answer came back at all.
 */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{detail?: string, code?: string, recordStatus?: RecordStatus | null,
   *   fields?: Record<string, string[]> | null, retryAfterMs?: number}} [facts]
   */
  constructor(status, { detail = "", code = "", recordStatus = null, fields = null, retryAfterMs = 0 } = {}) {
    super(detail || (status === 0 ? "Could not reach the server." : `The server answered ${status}.`));
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.recordStatus = recordStatus;
    this.fields = fields;
    this.retryAfterMs = retryAfterMs;
    /** Tries made before giving up (set by withRetry). */
    this.attempts = 0;
  }
}

/** Storage (S3) refused a POST or PUT, or could not be reached (status 0). */
export class StorageError extends Error {
  /**
   * @param {string} message
   * @param {{status?: number, code?: string, detail?: string}} [facts]
   */
  constructor(message, { status = 0, code = "", detail = "" } = {}) {
    super(message);
    this.name = "StorageError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    /** Tries made before giving up (set by withRetry). */
    this.attempts = 0;
  }
}

/** The server answered 2xx with something other than the agreed shape. */
export class ContractError extends Error {
  /** @param {string} what */
  constructor(what) {
    super(`The server's answer was not understood (${what}).`);
    this.name = "ContractError";
  }
}

/** What an error means for the upload that met it. */
/** @typedef {"abort" | "renew" | "retry" | "restart" | "final"} ErrorKind */

// 408 Request Timeout and 429 Too Many Requests say "try later"; so does every 5xx.
const RETRY_STATUSES = new Set([408, 429]);
// S3 codes that mean "send it again": RequestTimeout comes as a 400 when an upload stalls.
const RETRY_CODES = new Set(["RequestTimeout", "SlowDown", "InternalError", "ServiceUnavailable"]);
// S3 codes for a signature that is no longer valid; a fresh URL fixes them.
const EXPIRED_CODES = new Set(["ExpiredToken", "RequestExpired", "TokenRefreshRequired"]);
// The record can take no more authorisations, or its parts are gone: only a new record helps.
const RESTART_CODES = new Set(["upload_expired", "parts_gone"]);

/** An AbortError like fetch's, for code that must stop waiting. */
export function abortError(message = "The operation was aborted.") {
  return new DOMException(message, "AbortError");
}

/** Tell whether an error is an abort (pause or cancel), never a failure. */
export function isAbort(/** @type {unknown} */ error) {
  return error instanceof Error || error instanceof DOMException ? error.name === "AbortError" : false;
}

/** Tell whether storage refused a signed request because its signature or policy expired. */
export function isSignatureExpired(/** @type {unknown} */ error) {
  if (!(error instanceof StorageError) || (error.status !== 403 && error.status !== 400)) return false;
  if (EXPIRED_CODES.has(error.code)) return true;
  // AWS answers 403 AccessDenied, "Request has expired" for URLs and
  // "Invalid according to Policy: Policy expired." for POST forms.
  return error.code === "AccessDenied" && /expired/i.test(error.detail);
}

/**
 * Sort an error: "abort" (pause or cancel), "renew" (sign again, then retry at once), "retry"
 * (after a delay), "restart" (a new record for the file) or "final".
 * @param {unknown} error
 * @returns {ErrorKind}
 */
export function classify(error) {
  if (isAbort(error)) return "abort";
  if (error instanceof StorageError) {
    if (isSignatureExpired(error)) return "renew";
    const { status } = error;
    if (status === 0 || status >= 500 || RETRY_STATUSES.has(status) || RETRY_CODES.has(error.code)) return "retry";
    return "final";
  }
  if (error instanceof ApiError) {
    const { status, code } = error;
    if (RESTART_CODES.has(code)) return "restart";
    if (status === 409 && code === "busy") return "retry"; // another request is settling it
    // The app's own 502 ({detail, code}) is S3 refusing the server, a set-up problem; a proxy's
    // bare 502 while the app restarts is worth another try.
    if (status === 502 && code) return "final";
    if (status === 0 || status >= 500 || RETRY_STATUSES.has(status)) return "retry";
  }
  return "final";
}

/**
 * The record's status when the server says it takes nothing more ("gone": it no longer exists),
 * else null. A 409's record status "pending" means the record is still open.
 * @param {unknown} error
 * @returns {Exclude<RecordStatus, "pending"> | "gone" | null}
 */
export function closedStatus(error) {
  if (!(error instanceof ApiError)) return null;
  if (error.status === 404) return "gone";
  const status = error.status === 409 ? error.recordStatus : null;
  return status && status !== "pending" ? status : null;
}

/** Tell whether `complete` found the file (or some parts) not in storage yet; the record waits. */
export function isNotReceived(/** @type {unknown} */ error) {
  return error instanceof ApiError && error.status === 409 && error.code === "not_received";
}

/** Tell whether the server refuses to resume this record (gone, final, not in parts, parts lost). */
export function refusesResume(/** @type {unknown} */ error) {
  return error instanceof ApiError && [400, 404, 409].includes(error.status);
}

/** Tell whether a request failed with no answer at all (it may still have been carried out). */
export function isUnanswered(/** @type {unknown} */ error) {
  return error instanceof ApiError && error.status === 0;
}

/** Milliseconds the server asked us to wait (Retry-After), or 0. */
export function retryAfterMs(/** @type {unknown} */ error) {
  return error instanceof ApiError ? error.retryAfterMs : 0;
}

/** Note on a retryable error how many tries were made before giving up, and return it. */
export function noteAttempts(/** @type {unknown} */ error, /** @type {number} */ attempts) {
  if (error instanceof ApiError || error instanceof StorageError) error.attempts = attempts;
  return error;
}

/** How many tries were made before giving up on this error (0: it was not retried). */
export function attemptsOf(/** @type {unknown} */ error) {
  return error instanceof ApiError || error instanceof StorageError ? error.attempts : 0;
}
