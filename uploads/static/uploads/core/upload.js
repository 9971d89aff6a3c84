// @ts-check
// One file's upload, and the only code that changes its state. It runs the steps in order (find
// or make the record, send the bytes, have the server verify them), applies what they report,
// takes pause, resume, retry and cancel, and tells its subscribers every change.

import { classify, closedStatus, ContractError, isNotReceived, needsPerson } from "./errors.js";
import * as words from "./messages.js";
import { RecordHold } from "./record-hold.js";
import { actionsFor, isFinal, landing, STATES, STATUS } from "./states.js";
import * as steps from "./steps.js";
import { StatusBoard } from "./upload-status.js";

/**
 * @import { PostUpload } from "./answers.js"
 * @import { Action, PageStatus } from "./states.js"
 * @import { OpenedRecord, PartState, StepContext, StepEvent, UploadDeps } from "./steps.js"
 * @import { Change, Listener, UploadSnapshot } from "./upload-status.js"
 */

/** Why a run is being stopped: a pause keeps the parts in storage, a cancel discards them. */
/** @typedef {"pause" | "cancel"} Intent */

// How often `complete` may find the file incomplete (and parts be sent) before the page gives up.
const COMPLETE_ROUNDS = 3;

export class Upload {
  #deps;
  #board;
  /** @type {StepContext} */ #ctx;
  #hold;
  /** @type {PostUpload | null} the policy to send with (null: ask for one) */ #form = null;
  /** @type {PartState | null} null for a file sent as one POST */ #parts = null;
  #note = ""; // said each time it prepares and sends ("Resumed: …")
  #createKey = newKey(); // the Idempotency-Key of the create that makes this upload's record
  /** @type {AbortController | null} */ #controller = null;
  /** @type {Intent | null} set while a pause or cancel aborts the run */ #intent = null;
  /** @type {{cancel(): boolean} | null} */ #ticket = null;
  /** @type {Promise<void>} */ #running = Promise.resolve();

  /** @param {File} file @param {UploadDeps} deps */
  constructor(file, deps) {
    this.file = file;
    this.#deps = deps;
    const hold = new RecordHold({ file, claims: deps.claims, store: deps.store, holder: this });
    this.#hold = hold;
    this.#board = new StatusBoard({
      file,
      now: deps.clock.now,
      record: () => ({ id: hold.id, multipart: hold.multipart, recordOpen: hold.open, field_value: hold.fieldValue, record: hold.record }),
      // An upload that is over lets its record go: another upload of the file may look at it.
      changed: (change) => change === "status" && isFinal(this.#board.status) && hold.release(),
    });
    this.#ctx = { deps, report: (event) => this.#apply(event) };
  }

  /** What it shows now. */
  get snapshot() {
    return this.#board.snapshot;
  }

  /** True while the page must stay open for it. */
  get busy() {
    return STATES[this.#board.status].busy;
  }

  /** Call `listener(snapshot, change)` on every change; returns the unsubscribe function. */
  subscribe(/** @type {Listener} */ listener) {
    return this.#board.subscribe(listener);
  }

  /** Tell whether `action` is offered now (the state machine decides). */
  can(/** @type {Action} */ action) {
    return actionsFor(this.#board.status, this.snapshot).includes(action);
  }

  /** Do what a row's button asks. */
  perform(/** @type {Action} */ action) {
    if (action === "pause") this.pause();
    else if (action === "resume") this.resume();
    else if (action === "retry") this.retry();
    else void this.cancel();
  }

  /** Refuse the file before any request (it breaks the server's limits). */
  reject(/** @type {string} */ reason) {
    this.#board.move(STATUS.rejected, reason);
  }

  /** Put it in the queue; `front` makes it the next to start. */
  start({ front = false } = {}) {
    this.#board.move(STATUS.queued);
    this.#ticket = this.#deps.schedule(() => this.#run(), { front });
  }

  /** Stop sending parts; the parts already in storage stay there for resume(). */
  pause() {
    if (!this.can("pause")) return;
    this.#intent = "pause";
    this.#board.move(STATUS.paused, words.SAY.paused);
    this.#controller?.abort();
    if (this.#parts) this.#board.progress(this.#parts.held); // parts cut off mid-way are not kept
  }

  /** Continue a paused upload with the parts not yet sent, ahead of files still waiting. */
  resume() {
    if (this.can("resume")) this.start({ front: true });
  }

  /** Try again: the same record with a fresh authorisation, or a new record if it was closed or given up. */
  retry() {
    if (!this.can("retry")) return;
    if (!this.#hold.open) this.#drop();
    this.#form = null;
    if (this.#parts) this.#parts.missing = null; // storage says which parts arrived
    this.#board.progress(0);
    this.start();
  }

  /** Stop the transfer and have the server discard the record, its parts and any object. */
  async cancel() {
    if (!this.can("cancel")) return;
    this.#intent = "cancel";
    this.#ticket?.cancel();
    this.#controller?.abort();
    this.#board.move(STATUS.cancelling, words.SAY.cancelling);
    await this.#running; // once it settles, any record a create made is known
    if (!this.#hold.open) return this.#board.move(STATUS.aborted, words.SAY.cancelled);
    const id = this.#hold.requireId();
    try {
      this.#hold.update(await steps.call(this.#ctx, (s) => this.#deps.api.abort(id, s)));
      this.#hold.close();
      this.#board.move(STATUS.aborted, words.SAY.cancelledClean);
    } catch (error) {
      const closed = closedStatus(error, this.#deps.protocol);
      if (closed === "gone") return this.#board.move(STATUS.aborted, words.SAY.cancelled);
      if (!closed) return this.#board.move(STATUS.failed, words.describeCancelFailure(error));
      this.#hold.close();
      const end = landing(closed) ?? STATUS.failed;
      this.#board.move(end, STATES[end].done ? words.SAY.finishedFirst : words.describeError(error));
    }
  }

  async #run() {
    await this.#running; // a paused run may still be unwinding its aborted requests
    if (this.#board.status !== STATUS.queued) return; // cancelled while waiting
    const controller = new AbortController();
    this.#controller = controller;
    this.#intent = null;
    this.#board.restartMeter();
    this.#running = this.#drive(controller.signal);
    await this.#running;
  }

  /**
   * Take the upload as far as it goes. A record that can take no more is given up; a new one is
   * made at once, once, unless the protocol leaves that to a person (who then presses Retry).
   */
  async #drive(/** @type {AbortSignal} */ signal) {
    try {
      for (let restarts = 0; ; restarts += 1) {
        try {
          return await this.#transfer(signal);
        } catch (error) {
          if (classify(error) !== "restart" || !this.#hold.id) throw error;
          await this.#giveUp(signal);
          if (needsPerson(error) || restarts > 0) throw error;
          this.#note = words.SAY.restarting;
        }
      }
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Record, bytes, verification. */
  async #transfer(/** @type {AbortSignal} */ signal) {
    this.#enter(STATUS.preparing, signal, this.#note);
    if (!this.#hold.id) {
      this.#adopt(await steps.openRecord(this.file, this.#ctx, this, this.#createKey, signal));
    }
    const id = this.#hold.requireId();
    if (this.#parts) await this.#sendParts(id, this.#parts, signal);
    else {
      this.#enter(STATUS.uploading, signal, this.#note);
      await steps.sendForm(this.file, id, this.#form, this.#ctx, signal);
    }
    for (let round = 1; ; round += 1) {
      this.#enter(STATUS.verifying, signal);
      try {
        const named = this.#parts && steps.namedParts(this.#parts);
        // A file not (wholly) in storage is this loop's to handle: asking again alone would not do.
        const complete = (/** @type {AbortSignal | undefined} */ s) => this.#deps.api.complete(id, s, named);
        const record = await steps.call(this.#ctx, complete, signal, { retryIf: (error) => !isNotReceived(error) });
        const end = landing(record.status);
        if (!end) throw new ContractError(`complete/ answered a record ${record.status}`);
        this.#hold.update(record);
        this.#hold.close();
        this.#board.progress(this.file.size);
        return this.#board.move(end);
      } catch (error) {
        if (!isNotReceived(error) || round >= COMPLETE_ROUNDS) throw error;
        if (this.#parts) {
          this.#parts.missing = null; // storage lists what it holds; the rest is sent again
          await this.#sendParts(id, this.#parts, signal);
        } else {
          await this.#deps.retry.wait(this.#deps.retry.delay(round), signal); // a store may list a fresh object late
        }
      }
    }
  }

  /** Send the parts storage misses (asking it which, when unknown). */
  async #sendParts(/** @type {string} */ id, /** @type {PartState} */ parts, /** @type {AbortSignal} */ signal) {
    if (!parts.missing) {
      // After a failure, a pause or a 409 from complete, storage is the one who knows.
      const listing = await steps.call(this.#ctx, (s) => this.#deps.api.listParts(id, s), signal);
      this.#parts = parts = steps.partsHeld(listing);
    }
    this.#enter(STATUS.uploading, signal, this.#note);
    this.#board.progress(parts.held);
    const sending = { ...parts, missing: parts.missing ?? [] };
    parts.firstParts = null; // signed with the record, for the first send only
    await steps.sendMissingParts(this.file, id, sending, this.#ctx, signal);
  }

  /** Give up a record that can take no more: forgotten here, and a new one is made next. */
  async #giveUp(/** @type {AbortSignal} */ signal) {
    const old = this.#hold.requireId();
    this.#hold.close();
    this.#drop();
    // Cancelled now rather than at the next expiry sweep, so its parts stop costing storage and
    // the server's list of open uploads no longer offers it for resuming.
    await this.#deps.api.abort(old, signal).catch(() => null);
  }

  /** Show why the upload stopped (a pause or cancel is no failure). */
  #fail(/** @type {unknown} */ error) {
    // A pause or cancel set the status itself; whatever the stopped run met after that is moot.
    if (this.#intent) return;
    if (classify(error) === "restart" && needsPerson(error)) {
      return this.#board.move(STATUS.expired, words.describeFailure(error));
    }
    const closed = this.#hold.id ? closedStatus(error, this.#deps.protocol) : null;
    if (closed) this.#hold.close();
    const end = (closed && landing(closed)) || STATUS.failed;
    this.#board.move(end, STATES[end].done ? "" : words.describeFailure(error));
  }

  /** Apply what a step reports. */
  #apply(/** @type {StepEvent} */ event) {
    const board = this.#board;
    if (event.type === "progress") board.progress(event.bytes);
    else if (event.type === "part" && this.#parts) {
      this.#parts.held += event.size;
      this.#parts.missing = this.#parts.missing?.filter((number) => number !== event.number) ?? null;
      if (event.etag) this.#parts.etags.set(event.number, event.etag);
    } else if (event.type === "retry") {
      const offline = this.#deps.connectivity.isOffline();
      board.pass(words.describeRetry({ error: event.error, delay: event.delay, offline }));
    } else if (event.type === "renew") board.pass(words.SAY.renewing);
    else if (event.type === "offline") board.pass(words.SAY.offline);
    else if (event.type === "settled") board.settle();
  }

  /** Take the record a step found or made as this upload's own. */
  #adopt(/** @type {OpenedRecord} */ { record, form, parts, resumed }) {
    this.#hold.take(record);
    this.#form = form;
    this.#parts = parts;
    if (resumed && parts) {
      this.#board.progress(parts.held);
      this.#note = words.describeResumed(parts.held);
    }
    this.#board.say(this.#note);
  }

  /** Forget the record and everything about its transfer (a new one will be made). */
  #drop() {
    this.#hold.drop();
    this.#createKey = newKey(); // a new record is wanted: a repeat of the old key would return it
    this.#form = null;
    this.#parts = null;
    this.#board.progress(0);
  }

  /** Move as a running step does: a pause or cancel that came first wins. */
  #enter(/** @type {PageStatus} */ status, /** @type {AbortSignal} */ signal, message = "") {
    signal.throwIfAborted();
    this.#board.move(status, message);
  }
}

/** A fresh Idempotency-Key: one per record an upload asks the server to make. */
function newKey() {
  return globalThis.crypto.randomUUID();
}
