// @ts-check
// After an upload: the server analyses the file in the background (its poster, thumbnail and
// figures; for a form's field, whether the field takes it). Here the record is asked for again,
// less and less often, until what a caller waits for has settled. No DOM: the record comes
// through `get`, time through `clock`. The server decides everything; this only waits for it.

import { classify } from "./errors.js";

/**
 * @import { MediaRecord } from "./answers.js"
 * @import { Clock } from "./clock.js"
 */

/**
 * @typedef {object} FollowOptions
 * @property {(signal?: AbortSignal) => Promise<MediaRecord>} get the record as the server has it now
 * @property {(record: MediaRecord) => boolean} waiting true while the record is still to change
 * @property {Clock} clock
 * @property {AbortSignal} [signal] stops the following (it then rejects with an AbortError)
 * @property {number} [first] milliseconds before the first look again
 * @property {number} [most] the longest wait between two looks (each wait doubles up to it)
 * @property {number} [within] milliseconds after which it stops looking
 * @property {(record: MediaRecord) => void} [onRecord] hears of each record read, settled or not
 */

/**
 * How the following ended: with the record settled, or not (time ran out, or the server would
 * no longer answer: the record is gone, or the session ended); `record` is the newest one read.
 * @typedef {{record: MediaRecord, settled: boolean}} Followed
 */

/** Tell whether a record's analysis may still change (the protocol table says which are final). */
export function analysisOngoing(/** @type {MediaRecord} */ record) {
  return !record.analysis.final;
}

/** Tell whether the field a record was uploaded for has yet to say whether it takes it. */
export function fieldChecking(/** @type {MediaRecord} */ record) {
  return record.field_check !== null && !record.field_check.final;
}

/**
 * Ask for `record` again while `waiting(record)`, waiting `first` ms, then twice as long each
 * time up to `most`, for `within` ms at most. A look that fails for a while (no connection, a busy
 * server) is just a look missed; one the server refuses for good ends the following.
 * @param {MediaRecord} record the record as last read (complete/'s answer)
 * @param {FollowOptions} options
 * @returns {Promise<Followed>}
 */
export async function followRecord(record, { get, waiting, clock, signal, first = 500, most = 2000, within = 120_000, onRecord }) {
  const deadline = clock.now() + within;
  let current = record;
  let delay = first;
  while (waiting(current)) {
    if (clock.now() + delay > deadline) return { record: current, settled: false };
    await clock.sleep(delay, signal);
    delay = Math.min(most, delay * 2);
    try {
      current = await get(signal);
    } catch (error) {
      signal?.throwIfAborted();
      const kind = classify(error);
      if (kind === "retry" || kind === "renew") continue;
      return { record: current, settled: false };
    }
    onRecord?.(current);
  }
  return { record: current, settled: true };
}
