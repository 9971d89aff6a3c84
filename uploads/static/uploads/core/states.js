// @ts-check
// The one declaration of an upload's page statuses: where each may go next, what people may do
// in it, how it counts and looks, and what it is called. Every other module reads this table;
// none keeps a list of statuses of its own. The statuses an upload ends in when its record is
// final share their names with the record statuses of the protocol table (a test checks that
// every final one has its page status here).

/** @import { Protocol } from "./protocol.js" */

/**
 * How a row looks; the stylesheet keys its colours on `data-tone`, never on a status name.
 * @typedef {"plain" | "working" | "quiet" | "ok" | "bad"} Tone
 */

/**
 * When an action is offered: "always", only for a file that goes up in parts ("multipart": a
 * single POST would start over anyway), or only while a pending record holds something to discard.
 * @typedef {"always" | "multipart" | "open-record"} ActionRule
 */

/** @typedef {"pause" | "resume" | "retry" | "cancel"} Action */

/**
 * @typedef {object} StateSpec
 * @property {string} words what the status is called on screen
 * @property {Tone} tone
 * @property {readonly string[]} next the statuses it may move to; none means it is final
 * @property {Partial<Record<Action, ActionRule>>} can the buttons it offers
 * @property {boolean} busy the page must stay open for it: something is or will be moving
 * @property {boolean} ongoing it is not over: busy, or paused to go on (a form waits for it)
 * @property {boolean} counted it counts in the overall bar (refused and cancelled files do not)
 * @property {boolean} [done] it counts as uploaded in the overall bar
 * @property {boolean} [sending] bytes are going out: speed and time left are shown
 * @property {boolean} [bar] false hides the progress bar and figures (nothing will be sent)
 * @property {string} [announce] said to screen readers on arrival; {name} and {message} are filled in
 * @property {boolean} [ends] an upload lands here when its record is final with the status of this name
 */

const STATE_SPECS = /** @satisfies {Record<string, StateSpec>} */ ({
  queued: {
    words: "Waiting for its turn",
    tone: "plain",
    next: ["preparing", "cancelling", "rejected"],
    can: { cancel: "always" },
    busy: true,
    ongoing: true,
    counted: true,
  },
  preparing: {
    words: "Preparing…",
    tone: "working",
    next: ["uploading", "cancelling", "uploaded", "failed", "expired", "aborted"],
    can: { cancel: "always" },
    busy: true,
    ongoing: true,
    counted: true,
  },
  uploading: {
    words: "Uploading…",
    tone: "working",
    // Back to preparing when storage lost the parts and a new record is made.
    next: ["verifying", "paused", "preparing", "cancelling", "uploaded", "failed", "expired", "aborted"],
    can: { pause: "multipart", cancel: "always" },
    busy: true,
    ongoing: true,
    counted: true,
    sending: true,
  },
  paused: {
    words: "Paused",
    tone: "quiet",
    next: ["queued", "cancelling"],
    can: { resume: "always", cancel: "always" },
    busy: false,
    ongoing: true,
    counted: true,
    announce: "{name} paused.",
  },
  verifying: {
    words: "Checking the file in storage…",
    tone: "working",
    // Back to uploading when the server still misses parts.
    next: ["uploading", "preparing", "uploaded", "failed", "expired", "aborted"],
    can: {},
    busy: true,
    ongoing: true,
    counted: true,
  },
  cancelling: {
    words: "Cancelling…",
    tone: "quiet",
    next: ["aborted", "uploaded", "failed", "expired"],
    can: {},
    busy: true,
    ongoing: true,
    counted: false,
  },
  uploaded: {
    words: "Uploaded",
    tone: "ok",
    next: [],
    can: {},
    busy: false,
    ongoing: false,
    counted: true,
    done: true,
    ends: true,
    announce: "{name} uploaded.",
  },
  failed: {
    words: "Failed",
    tone: "bad",
    next: ["queued", "cancelling"],
    can: { retry: "always", cancel: "open-record" },
    busy: false,
    ongoing: false,
    counted: true,
    ends: true,
    announce: "{name}: {message}",
  },
  expired: {
    // The record's deadline passed: Retry makes a new one.
    words: "Expired",
    tone: "bad",
    next: ["queued"],
    can: { retry: "always" },
    busy: false,
    ongoing: false,
    counted: true,
    ends: true,
    announce: "{name} expired.",
  },
  aborted: {
    words: "Cancelled",
    tone: "quiet",
    next: [],
    can: {},
    busy: false,
    ongoing: false,
    counted: false,
    ends: true,
    announce: "{name} cancelled.",
  },
  rejected: {
    words: "Not accepted",
    tone: "bad",
    next: [],
    can: {},
    busy: false,
    ongoing: false,
    counted: false,
    bar: false,
    announce: "{name}: {message}",
  },
});

/** @typedef {keyof typeof STATE_SPECS} PageStatus */

/**
 * The statuses, each with its spec (read-only).
 * @type {Readonly<Record<PageStatus, StateSpec>>}
 */
export const STATES = Object.freeze(STATE_SPECS);

/** Every page status, in the order declared. */
export const STATUS_NAMES = /** @type {PageStatus[]} */ (Object.keys(STATES));

/** The row's buttons, in the order they are shown. */
export const ACTIONS = /** @type {const} */ (["pause", "resume", "retry", "cancel"]);

/**
 * Each page status by its name, for the code that moves an upload (`STATUS.uploaded`).
 * @type {{readonly [K in PageStatus]: K}}
 */
export const STATUS = Object.freeze(/** @type {{[K in PageStatus]: K}} */ (Object.fromEntries(STATUS_NAMES.map((name) => [name, name]))));

/**
 * The status a new upload starts in.
 * @type {PageStatus}
 */
export const INITIAL_STATUS = STATUS.queued;

/**
 * Tell whether `name` is a page status.
 * @param {string} name
 * @returns {name is PageStatus}
 */
function isStatus(name) {
  return Object.hasOwn(STATES, name);
}

/** Tell whether an upload may move from `from` to `to` (staying put is always allowed). */
export function canMove(/** @type {PageStatus} */ from, /** @type {PageStatus} */ to) {
  return from === to || STATES[from].next.includes(to);
}

/** Tell whether nothing can happen to an upload in this status any more. */
export function isFinal(/** @type {PageStatus} */ status) {
  return STATES[status].next.length === 0;
}

/**
 * The actions offered in `status`, given whether the file goes up in parts and whether a pending
 * record exists that Cancel would discard.
 * @param {PageStatus} status
 * @param {{multipart: boolean, recordOpen: boolean}} facts
 * @returns {Action[]}
 */
export function actionsFor(status, { multipart, recordOpen }) {
  const rules = STATES[status].can;
  return ACTIONS.filter((action) => {
    const rule = rules[action];
    return rule === "always" || (rule === "multipart" && multipart) || (rule === "open-record" && recordOpen);
  });
}

/**
 * The page status an upload ends in when its record is final with `recordStatus`, or null for a
 * status no upload ends in.
 * @param {string} recordStatus
 * @returns {PageStatus | null}
 */
export function landing(recordStatus) {
  return isStatus(recordStatus) && STATES[recordStatus].ends ? recordStatus : null;
}

/**
 * What "My uploads" calls a record's status: named like the page status it ends in, except a
 * record still waiting for its file.
 * @param {string} status
 * @param {Protocol} protocol
 */
export function recordWords(status, protocol) {
  if (!protocol.isFinal(status)) return "Not finished";
  const end = landing(status);
  return end ? STATES[end].words : status;
}

// A `next` naming no status is a typo that would only show when that move is refused.
for (const [name, spec] of Object.entries(STATES)) {
  for (const next of spec.next) {
    if (!isStatus(next)) throw new Error(`Status ${name} lists an unknown next status: ${next}.`);
  }
}
