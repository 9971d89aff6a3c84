// One file's upload as the page tracks it: status, progress and message, run in the queue, with
// pause, resume, cancel and retry (the steps themselves are in flow.js).

import { isUploadExpired } from "./api.js";
import { authorize, begin, finish, sendForm, sendParts } from "./flow.js";
import { describeError, describeRetry } from "./messages.js";
import { createSpeedMeter } from "./progress.js";
import {
  backoffDelay,
  isAbort,
  isOffline,
  sleepUntilOnline,
  waitUntilOnline,
  withRetry,
} from "./retry.js";

// Record statuses the server will never change again.
const SERVER_FINAL = new Set(["uploaded", "failed", "expired", "aborted"]);
// Page statuses in which nothing more happens unless the person asks.
const SETTLED = new Set(["uploaded", "aborted", "rejected", "failed", "expired", "paused"]);

/**
 * An upload job. `deps`: {api, postFile, putPart, store, config, schedule(task, {front}) → ticket,
 * busyIds(job) → Set of record ids other jobs use}; tests also pass {now, wait, delay, attempts}.
 */
export class UploadJob {
  constructor(file, deps) {
    this.file = file;
    this.deps = { now: Date.now, wait: sleepUntilOnline, delay: backoffDelay, attempts: undefined, ...deps };
    this.status = "queued";
    this.message = "";
    this.id = null; // the record's id, once the server made (or we found) it
    this.claim = null; // an id being looked at for resuming, so two jobs never take the same record
    this.serverStatus = null; // the record's status when it is final (or "gone")
    this.upload = null; // the current authorisation: {method: "POST", url, fields, expires_at} or multipart
    this.plan = null;
    this.missing = null; // part numbers S3 does not hold yet (null: ask the server)
    this.loaded = 0;
    this.total = file.size;
    this.speed = 0;
    this.meter = createSpeedMeter({ now: this.deps.now });
    this.listeners = new Set();
    this.controller = null;
    this.intent = null; // "pause" or "cancel" while an abort is on its way
    this.ticket = null;
    this.running = null;
    this.transient = false; // the message is a passing one ("Retrying…") that progress clears
    this.note = ""; // what stays said while uploading ("Resumed: … was already in storage.")
  }

  /** Call `listener(job, kind)` on every change; kind is "status" or "progress". */
  onChange(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tell the listeners that something changed. */
  emit(kind) {
    for (const listener of this.listeners) listener(this, kind);
  }

  /** True for a file that goes up in parts. */
  get multipart() {
    return this.upload?.method === "multipart" || Boolean(this.plan);
  }
  /** Only parts can be paused: a single POST would start over anyway. */
  get canPause() {
    return this.status === "uploading" && this.multipart;
  }
  /** True while paused. */
  get canResume() {
    return this.status === "paused";
  }
  /** True once the job stopped on an error. */
  get canRetry() {
    return this.status === "failed" || this.status === "expired";
  }
  /** True while there is a transfer, or a pending record, to discard. */
  get canCancel() {
    if (["queued", "preparing", "uploading", "paused"].includes(this.status)) return true;
    // A failed transfer may still hold a pending record (and parts) worth discarding.
    return this.status === "failed" && Boolean(this.id) && !this.serverStatus;
  }
  /** True while the job needs the page open (something is or will be moving). */
  get busy() {
    return !SETTLED.has(this.status);
  }

  /** Move to `status`, replacing the message. */
  setStatus(status, message = "") {
    this.status = status;
    this.message = message;
    this.transient = false;
    if (status !== "uploading") this.speed = 0;
    this.emit("status");
  }

  /** Change the message only; a transient one goes away with the next progress. */
  setMessage(message, { transient = false } = {}) {
    this.message = message;
    this.transient = transient;
    this.emit("status");
  }

  /** Hold a request back while the browser knows it is offline: it could only fail. */
  async whenOnline(signal) {
    if (!isOffline()) return;
    this.setMessage(describeRetry({ offline: true }), { transient: true });
    await waitUntilOnline(signal);
    this.clearTransient();
  }

  /** Show a retry on the row, noting when the browser knows it is offline. */
  noteRetry(info) {
    this.setMessage(describeRetry({ ...info, offline: isOffline() }), { transient: true });
  }

  /** Drop a passing message ("Retrying…") once things move again. */
  clearTransient() {
    if (this.transient) this.setMessage(this.status === "uploading" ? this.note : "");
  }

  /** Record how many bytes are in (or on their way to) storage. */
  setLoaded(bytes) {
    this.loaded = Math.max(0, Math.min(bytes, this.total));
    this.meter.update(this.loaded);
    this.speed = this.meter.speed();
    this.emit("progress");
  }

  /** Refuse the file before any request (it breaks the server's limits). */
  reject(reason) {
    this.setStatus("rejected", reason);
  }

  /** Put the job in the queue; `front` makes it the next to start. */
  enqueue({ front = false } = {}) {
    this.setStatus("queued");
    this.ticket = this.deps.schedule(() => this.run(), { front });
  }

  /** Run the job (the queue calls this when a slot is free). */
  async run() {
    await this.running; // a paused run may still be unwinding its aborted requests
    if (this.status !== "queued") return; // cancelled while waiting
    this.controller = new AbortController();
    this.intent = null;
    this.meter.reset();
    this.running = this.drive(this.controller.signal);
    await this.running;
  }

  /** Take the job as far as it goes; a record past its deadline is replaced by a new one, once. */
  async drive(signal) {
    try {
      try {
        await this.transfer(signal);
      } catch (error) {
        if (!isUploadExpired(error)) throw error;
        await this.startOver(signal);
        await this.transfer(signal);
      }
    } catch (error) {
      this.fail(error);
    }
  }

  /** Record, authorisation, bytes, verification. */
  async transfer(signal) {
    this.setStatus("preparing", this.note);
    if (!this.id) await begin(this, signal);
    else if (!this.upload) await authorize(this, signal);
    if (this.multipart) await sendParts(this, signal);
    else await sendForm(this, signal);
    await finish(this, signal);
  }

  /** Drop a record the server no longer authorises (its deadline passed) and begin a new one. */
  async startOver(signal) {
    const expired = this.id;
    this.deps.store.forget(this.file);
    this.id = null;
    this.record = null;
    this.upload = null;
    this.plan = null;
    this.missing = null;
    this.setLoaded(0);
    this.note = "The earlier upload ran out of time; starting it again.";
    // Cancelled now rather than at the next expiry sweep, so its parts stop costing storage and
    // the server's pending list no longer offers it for resuming.
    await this.deps.api.abort(expired, signal).catch(() => null);
  }

  /** Call the API, retrying what is safe to retry and saying so on the row. */
  async call(request, signal, { idempotent = true } = {}) {
    const { attempts, wait, delay } = this.deps;
    await this.whenOnline(signal);
    const result = await withRetry(() => request(signal), {
      attempts,
      signal,
      wait,
      delay,
      // No answer to a create may still have made a record: repeating it could make a second one.
      shouldRetry: (error) => idempotent || error.status !== 0,
      onRetry: (info) => this.noteRetry(info),
    });
    this.clearTransient();
    return result;
  }

  /** Take the server's record as this job's own. */
  adopt(record) {
    this.id = record.id;
    this.claim = null;
    this.record = record;
    this.emit("status");
  }

  /** Show why the job stopped (a pause or cancel is not a failure). */
  fail(error) {
    if (isAbort(error) && this.intent) return; // pause() and cancel() set the status themselves
    const final = error?.source === "api" && error.status === 409 ? error.body?.status : null;
    if (final && SERVER_FINAL.has(final)) {
      this.serverStatus = final;
      this.deps.store.forget(this.file);
    } else if (error?.source === "api" && error.status === 404 && this.id) {
      this.serverStatus = "gone";
      this.deps.store.forget(this.file);
    }
    const status = final === "expired" || final === "aborted" || final === "uploaded" ? final : "failed";
    const prefix = error?.attempts > 1 ? `Gave up after ${error.attempts} tries. ` : "";
    this.setStatus(status, status === "uploaded" ? "" : prefix + describeError(error));
  }

  /** Stop sending parts; the parts already in storage stay there for resume(). */
  pause() {
    if (!this.canPause) return;
    this.intent = "pause";
    this.setStatus("paused", "Paused. The parts already sent are kept.");
    this.controller.abort();
  }

  /** Continue a paused upload with the parts not yet sent, ahead of files still waiting. */
  resume() {
    if (!this.canResume) return;
    this.enqueue({ front: true });
  }

  /** Try a failed upload again: the same record gets a fresh authorisation (a final one, a new record). */
  retry() {
    if (!this.canRetry) return;
    if (this.serverStatus) {
      this.id = null;
      this.record = null;
      this.serverStatus = null;
      this.plan = null;
    }
    this.upload = null;
    this.missing = null;
    this.loaded = 0;
    this.enqueue();
  }

  /** Stop the transfer and have the server discard the record, its parts and any object. */
  async cancel() {
    if (!this.canCancel) return;
    this.intent = "cancel";
    this.ticket?.cancel();
    this.controller?.abort();
    this.setStatus("cancelling", "Cancelling…");
    await this.running; // once it settles, any record a create made is known
    if (!this.id) {
      this.setStatus("aborted", "Cancelled.");
      return;
    }
    try {
      const record = await this.call((s) => this.deps.api.abort(this.id, s));
      this.adopt(record);
      this.deps.store.forget(this.file);
      this.setStatus("aborted", "Cancelled. Nothing was kept in storage.");
    } catch (error) {
      const final = error.status === 409 ? error.body?.status : null;
      if (final) {
        this.serverStatus = final;
        this.deps.store.forget(this.file);
        const finished = "It finished before it could be cancelled.";
        this.setStatus(final, final === "uploaded" ? finished : describeError(error));
      } else if (error.status === 404) {
        this.setStatus("aborted", "Cancelled.");
      } else {
        this.intent = null;
        this.setStatus("failed", `Could not cancel: ${describeError(error)}`);
      }
    }
  }
}
