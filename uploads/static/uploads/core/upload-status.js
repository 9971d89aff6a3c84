// @ts-check
// What one upload shows: its status (moved only as the state machine allows), what it says, its
// bytes and speed, as snapshots its subscribers get at each change. Each Upload keeps one, privately.

import { createSpeedMeter } from "./progress.js";
import { canMove, INITIAL_STATUS, STATES } from "./states.js";

/**
 * @import { MediaRecord } from "./answers.js"
 * @import { PageStatus } from "./states.js"
 */

/** What changed: the status, what the upload says or its record, or its bytes. */
/** @typedef {"status" | "detail" | "progress"} Change */

/**
 * @typedef {object} UploadSnapshot
 * @property {File} file
 * @property {PageStatus} status
 * @property {string} message
 * @property {string | null} id the record's id, once the server made (or we found) it
 * @property {number} loaded bytes in (or on their way to) storage
 * @property {number} total
 * @property {number} speed bytes per second while sending, else 0
 * @property {boolean} multipart
 * @property {boolean} recordOpen a pending record exists that Cancel would discard
 * @property {string | null} field_value what a form field submits to attach the uploaded record,
 *   when it was made for one
 * @property {MediaRecord | null} record the record as the server last answered it (once uploaded:
 *   complete/'s answer, with where its analysis stands), null before there is one
 */

/** What the board is told of the upload's record. */
/** @typedef {Pick<UploadSnapshot, "id" | "multipart" | "recordOpen" | "field_value" | "record">} RecordFacts */

/** @typedef {(snapshot: UploadSnapshot, change: Change) => void} Listener */

export class StatusBoard {
  /** @type {PageStatus} */ #status = INITIAL_STATUS;
  #message = "";
  #lasting = ""; // what stays said in this status; a passing message ("Retrying…") gives way to it
  #loaded = 0;
  #speed = 0;
  #file;
  #meter;
  #record;
  #changed;
  /** @type {Set<Listener>} */ #listeners = new Set();

  /**
   * @param {{file: File, now: () => number, record: () => RecordFacts, changed: (change: Change) => void}} options
   *   `record` tells the record's facts; `changed` hears of each change before the subscribers
   */
  constructor({ file, now, record, changed }) {
    this.#file = file;
    this.#meter = createSpeedMeter({ now });
    this.#record = record;
    this.#changed = changed;
  }

  /** @returns {UploadSnapshot} */
  get snapshot() {
    return Object.freeze({
      file: this.#file,
      status: this.#status,
      message: this.#message,
      loaded: this.#loaded,
      total: this.#file.size,
      speed: this.#speed,
      ...this.#record(),
    });
  }

  /** Call `listener(snapshot, change)` on every change; returns the unsubscribe function. */
  subscribe(/** @type {Listener} */ listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tell the subscribers (the record may have changed too). */
  #emit(/** @type {Change} */ change) {
    this.#changed(change);
    const snapshot = this.snapshot;
    for (const listener of this.#listeners) listener(snapshot, change);
  }

  get status() {
    return this.#status;
  }

  /** Move to `status`, saying `message`; a move the state machine does not declare is a bug. */
  move(/** @type {PageStatus} */ status, message = "") {
    if (!canMove(this.#status, status)) throw new Error(`An upload cannot go from ${this.#status} to ${status}.`);
    const changed = status !== this.#status;
    this.#status = status;
    this.#message = this.#lasting = message;
    if (!STATES[status].sending) this.#speed = 0;
    this.#emit(changed ? "status" : "detail");
  }

  /** Say something that stays while the status lasts. */
  say(/** @type {string} */ message) {
    this.#message = this.#lasting = message;
    this.#emit("detail");
  }

  /** Say something passing ("Retrying in 3 s…"); settle() brings back what the status says. */
  pass(/** @type {string} */ message) {
    this.#message = message;
    this.#emit("detail");
  }

  /** Go back to what the status says, once things move normally again. */
  settle() {
    if (this.#message !== this.#lasting) this.say(this.#lasting);
  }

  /** Record how many bytes are in (or on their way to) storage. */
  progress(/** @type {number} */ bytes) {
    this.#loaded = Math.max(0, Math.min(bytes, this.#file.size));
    this.#meter.update(this.#loaded);
    this.#speed = STATES[this.#status].sending ? this.#meter.speed() : 0;
    this.#emit("progress");
  }

  /** Measure speed afresh (after a pause the old rate means nothing). */
  restartMeter() {
    this.#meter.reset();
  }
}
