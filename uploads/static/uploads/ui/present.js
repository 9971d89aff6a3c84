// @ts-check
// What the page and the widgets show of uploads, worked out without a DOM from the state machine:
// a row's words, tone, figures and buttons, the overall line, and what is said to screen readers.

import { formatDuration, formatSpeed, percent } from "../core/format.js";
import { timeLeft } from "../core/progress.js";
import { actionsFor, STATES } from "../core/states.js";
import { metadataSummary } from "./media.js";

/**
 * @import { MediaRecord } from "../core/answers.js"
 * @import { Summary } from "../core/progress.js"
 * @import { Action, PageStatus, Tone } from "../core/states.js"
 * @import { UploadSnapshot } from "../core/upload-status.js"
 */

/**
 * @typedef {object} RowModel
 * @property {PageStatus} status the row's data-status
 * @property {Tone} tone the row's data-tone, which the stylesheet colours
 * @property {string} words the status in words
 * @property {string} message
 * @property {number} percent
 * @property {string} rate speed and time left while sending, else ""
 * @property {Action[]} actions the buttons shown, in order
 * @property {boolean} bar whether the progress bar and figures are shown
 */

/**
 * What the server's analysis adds to an uploaded file's row, in place of what was read locally.
 * @typedef {object} AnalysisModel
 * @property {string | null} image its thumbnail (a video's poster when there is no thumbnail), or null
 * @property {string} meta its figures ("0:10 · 640×360"), or "" while unknown
 * @property {string} note a quiet word when it could not be analysed, else "" (the upload is
 *   fine all the same)
 */

/** Labels of the row's buttons (each followed, for screen readers, by the file's name). */
export const ACTION_LABELS = Object.freeze({ pause: "Pause", resume: "Resume", retry: "Retry", cancel: "Cancel" });

/**
 * A row as its upload's snapshot and the state machine say.
 * @param {UploadSnapshot} snapshot
 * @returns {RowModel}
 */
export function rowModel(snapshot) {
  const spec = STATES[snapshot.status];
  return {
    status: snapshot.status,
    tone: spec.tone,
    words: spec.words,
    message: snapshot.message,
    percent: percent(snapshot.loaded, snapshot.total),
    rate: rateText(snapshot),
    actions: actionsFor(snapshot.status, snapshot),
    bar: spec.bar !== false,
  };
}

/**
 * "2.1 MB/s · about 12 s left" for a file whose bytes are moving, else "".
 * @param {{status: PageStatus, loaded: number, total: number, speed: number}} facts
 */
export function rateText({ status, loaded, total, speed }) {
  if (!STATES[status].sending || !(speed > 0)) return "";
  const seconds = timeLeft(total - loaded, speed);
  const left = seconds === null ? "" : ` · about ${formatDuration(seconds)} left`;
  return `${formatSpeed(speed)}${left}`;
}

/**
 * The overall line's figures: ["1 of 3 uploaded", "45%", "3.2 MB/s", "about 20 s left"].
 * @param {Pick<Summary, "done" | "count" | "percent" | "speed" | "secondsLeft">} summary
 */
export function overallParts(summary) {
  const parts = [`${summary.done} of ${summary.count} uploaded`, `${summary.percent}%`];
  if (summary.speed > 0) parts.push(formatSpeed(summary.speed));
  if (summary.secondsLeft !== null) parts.push(`about ${formatDuration(summary.secondsLeft)} left`);
  return parts;
}

/**
 * What to say when an upload arrives in its status ("" for nothing), and, when it was the last of
 * several to finish, that everything is uploaded.
 * @param {UploadSnapshot} snapshot
 * @param {Pick<Summary, "done" | "count">} summary
 */
export function announcement(snapshot, summary) {
  const spec = STATES[snapshot.status];
  if (!spec.announce) return "";
  const text = spec.announce.replace("{name}", snapshot.file.name).replace("{message}", snapshot.message);
  const all = spec.done && summary.count > 1 && summary.done === summary.count;
  return all ? `${text} All ${summary.count} files are uploaded.` : text;
}

/**
 * What a row shows of the server's analysis of its record.
 * @param {MediaRecord} record
 * @returns {AnalysisModel}
 */
export function analysisModel(record) {
  const { failed, detail } = record.analysis;
  return {
    image: record.thumbnail_url ?? record.poster_url,
    meta: metadataSummary(record.metadata),
    note: failed ? ["Not analysed.", detail].filter(Boolean).join(" ") : "",
  };
}
