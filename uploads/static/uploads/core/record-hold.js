// @ts-check
// The record an upload holds: claimed so no other upload drives it, remembered in this browser
// while its parts can be resumed, and let go for good once the server takes nothing more for it.

/**
 * @import { MediaRecord } from "./answers.js"
 * @import { Claims } from "./claims.js"
 * @import { ResumeStore } from "./resume.js"
 */

/**
 * @typedef {object} HoldOptions
 * @property {File} file the file the record is for (its fingerprint is remembered)
 * @property {Claims} claims
 * @property {ResumeStore} store
 * @property {object} holder the upload holding it
 */

export class RecordHold {
  /** @type {MediaRecord | null} */ #record = null;
  #closed = false; // the server takes nothing more for it (final, or gone)
  #file;
  #claims;
  #store;
  #holder;

  /** @param {HoldOptions} options */
  constructor({ file, claims, store, holder }) {
    this.#file = file;
    this.#claims = claims;
    this.#store = store;
    this.#holder = holder;
  }

  /** The record's id, or null before there is one. */
  get id() {
    return this.#record?.id ?? null;
  }
  /** True while a pending record exists that the server still takes uploads (or a cancel) for. */
  get open() {
    return Boolean(this.#record) && !this.#closed;
  }
  /** True for a record whose file goes up in parts. */
  get multipart() {
    return this.#record?.upload_method === "multipart";
  }
  /** The record as the server last answered it (complete/'s answer, once it is uploaded). */
  get record() {
    return this.#record;
  }
  /** What a form field submits to attach the record, once complete/ gave it (else null). */
  get fieldValue() {
    return this.#record?.field_value ?? null;
  }

  /** The id, for a step that needs a record. */
  requireId() {
    if (!this.#record) throw new Error("The upload has no record yet.");
    return this.#record.id;
  }

  /** Hold `record`; one sent in parts is remembered, so picking the file again resumes it. */
  take(/** @type {MediaRecord} */ record) {
    this.#record = record;
    this.#closed = false;
    this.#claims.take(record.id, this.#holder);
    if (this.multipart) this.#store.remember(this.#file, record.id);
  }

  /** The server's newer view of the same record. */
  update(/** @type {MediaRecord} */ record) {
    this.#record = record;
  }

  /** The server takes nothing more for the record: nobody resumes it, any upload may look at it. */
  close() {
    this.#closed = true;
    if (!this.#record) return;
    this.#store.forget(this.#file, this.#record.id);
    this.#claims.release(this.#record.id, this.#holder);
  }

  /** Let the record go (the upload is over, or a new record will be made). */
  release() {
    if (this.#record) this.#claims.release(this.#record.id, this.#holder);
  }

  /** Let go of the record and forget it: a new one will be made. */
  drop() {
    this.release();
    this.#record = null;
    this.#closed = false;
  }
}
