// @ts-check
// What can go wrong, as typed errors, and what each means for an upload: try again, sign again,
// start a new record, or stop. An API or storage error carries the action the protocol table gave
// it when its answer was read (answers.js, transfer.js); nothing here restates the table.

import { isNotReceivedCode } from "./protocol.js";

/** @import { Action, Protocol } from "./protocol.js" */

/**
 * An API answer that was not 2xx, read from the one error shape `{detail, code}` (a 409 adds the
 * record's `status`, a 400 its `fields`). Status 0: no answer came back at all.
 */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{action: Action, needsPerson?: boolean, detail?: string, code?: string,
   *   recordStatus?: string | null, fields?: Record<string, string[]> | null, retryAfterMs?: number}} facts
   *   `action` and `needsPerson`: the protocol's word on this code (or HTTP status)
   */
  constructor(status, { action, needsPerson = false, detail = "", code = "", recordStatus = null, fields = null, retryAfterMs = 0 }) {
    super(detail || (status === 0 ? "Could not reach the server." : `The server answered ${status}.`));
    this.name = "ApiError";
    this.status = status;
    this.action = action;
    this.needsPerson = needsPerson;
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
   * @param {{action: Action, status?: number, code?: string, detail?: string}} facts `action`: the
   *   protocol's storage rules on this refusal
   */
  constructor(message, { action, status = 0, code = "", detail = "" }) {
    super(message);
    this.name = "StorageError";
    this.action = action;
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

/** What an error means for the upload that met it: an abort (pause or cancel), or an action. */
/** @typedef {"abort" | Action} ErrorKind */

/** An AbortError like fetch's, for code that must stop waiting. */
export function abortError(message = "The operation was aborted.") {
  return new DOMException(message, "AbortError");
}

/** Tell whether an error is an abort (pause or cancel), never a failure. */
export function isAbort(/** @type {unknown} */ error) {
  return error instanceof Error || error instanceof DOMException ? error.name === "AbortError" : false;
}

/**
 * Sort an error: "abort" (pause or cancel), else the action its answer was read with; anything
 * else (a contract breach, a bug) is final.
 * @param {unknown} error
 * @returns {ErrorKind}
 */
export function classify(error) {
  if (isAbort(error)) return "abort";
  if (error instanceof ApiError || error instanceof StorageError) return error.action;
  return "final";
}

/** Tell whether storage refused a signed request because its signature or policy expired. */
export function isSignatureExpired(/** @type {unknown} */ error) {
  return error instanceof StorageError && error.action === "renew";
}

/** Tell whether the protocol leaves what comes next to a person (a new record after a deadline). */
export function needsPerson(/** @type {unknown} */ error) {
  return error instanceof ApiError && error.needsPerson;
}

/**
 * The record's status when the server says it takes nothing more ("gone": it no longer exists),
 * else null. A 409 naming a status the record still leaves means the record is still open.
 * @param {unknown} error
 * @param {Protocol} protocol
 * @returns {string | null}
 */
export function closedStatus(error, protocol) {
  if (!(error instanceof ApiError)) return null;
  if (error.status === 404) return "gone";
  const status = error.status === 409 ? error.recordStatus : null;
  return status && protocol.isFinal(status) ? status : null;
}

/** Tell whether `complete` found the file (or some parts) not in storage yet; the record waits. */
export function isNotReceived(/** @type {unknown} */ error) {
  return error instanceof ApiError && isNotReceivedCode(error.code);
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
