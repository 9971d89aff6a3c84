// @ts-check
// The protocol's vocabulary, read from the table the server renders in the config (`protocol`:
// uploads/protocol.json): what a client does about each error code and about S3 refusing a signed
// request, the record statuses, the analysis statuses and field checks (which of them are final),
// the signing limit. The only module that names an error code, a record status, an analysis
// status or a field check; it reads the table by the same rules as uploads/protocol.py.

/**
 * What a client does about a refusal: send it again later, sign again first, make a new record,
 * or stop.
 * @typedef {"retry" | "renew" | "restart" | "final"} Action
 */

/**
 * @typedef {object} Protocol
 * @property {readonly string[]} statuses every record status
 * @property {string} openStatus the one status a record leaves: still waiting for its file
 * @property {number} maxPartsPerSign part URLs the API signs per call at most
 * @property {(status: number, code: string) => Action} appAction what to do about an API answer:
 *   its code's entry, else by HTTP status (0: no answer at all)
 * @property {(status: number, code: string, message: string) => Action} storageAction what to do
 *   when S3 refuses a signed POST or PUT (status 0: S3 was not reached)
 * @property {(code: string) => boolean} needsPerson whether a person decides what comes next
 * @property {(name: unknown) => name is string} isStatus
 * @property {(status: string) => boolean} isFinal whether a record in `status` never changes again
 * @property {readonly string[]} analysisStatuses every status of a file's background analysis
 * @property {(status: string) => boolean} analysisFinal whether an analysis in `status` never
 *   changes again (it is over, one way or the other)
 * @property {(status: string) => boolean} analysisFailed whether the analysis could not be done
 *   (the upload itself is fine)
 * @property {readonly string[]} fieldChecks every verdict of a field on a record uploaded for it
 * @property {(status: string) => boolean} fieldCheckFinal whether the field has said (else it is
 *   still checking: ask again)
 * @property {(status: string) => boolean} fieldRefuses whether the field refuses the record
 */

/** @type {readonly Action[]} */
const ACTIONS = ["retry", "renew", "restart", "final"];

// The one code a client acts on beyond its action: complete/ found the file not (wholly) in the
// bucket, so the parts storage misses are sent again; asking complete/ again alone would not help.
const NOT_RECEIVED = "not_received";

// What a client acts on beyond their being final: an analysis that failed is said quietly (the
// upload is fine); a field that refuses a file says why, as the form will on saving.
const ANALYSIS_FAILED = "failed";
const FIELD_REFUSED = "refused";

/** Tell whether an API error code says the bucket does not hold the whole file yet. */
export function isNotReceivedCode(/** @type {string} */ code) {
  return code === NOT_RECEIVED;
}

/**
 * Read the server's protocol table; throws an Error naming the first thing wrong with it.
 * @param {unknown} raw
 * @returns {Protocol}
 */
export function readProtocol(raw) {
  const table = object(raw, "protocol");
  const finals = new Map(
    Object.entries(object(table.statuses, "protocol.statuses")).map(([name, entry]) => [
      name,
      flag(object(entry, `protocol.statuses.${name}`).final, `protocol.statuses.${name}.final`),
    ]),
  );
  const open = [...finals].filter(([, final]) => !final).map(([name]) => name);
  if (open.length !== 1) throw new Error(`protocol.statuses must have one status that is not final, not ${open.length}.`);
  const analysisFinals = finalsOf(table.analysis_statuses, "protocol.analysis_statuses", ANALYSIS_FAILED);
  const checkFinals = finalsOf(table.field_checks, "protocol.field_checks", FIELD_REFUSED);

  const errors = new Map(
    Object.entries(object(table.errors, "protocol.errors")).map(([code, entry]) => {
      const where = `protocol.errors.${code}`;
      const fields = object(entry, where);
      return [code, { action: action(fields.action, `${where}.action`), needsPerson: flag(fields.needs_person, `${where}.needs_person`) }];
    }),
  );
  if (!errors.has(NOT_RECEIVED)) throw new Error(`protocol.errors has no ${NOT_RECEIVED}.`);

  // Keyed "401", or "4xx" for a whole class; the table's comment is no rule.
  const fallback = new Map(
    Object.entries(object(table.fallback, "protocol.fallback"))
      .filter(([key]) => /^\d(\d\d|xx)$/.test(key))
      .map(([key, value]) => [key, action(value, `protocol.fallback.${key}`)]),
  );

  const storage = object(table.storage, "protocol.storage");
  const renewCodes = new Set(texts(storage.renew_codes, "protocol.storage.renew_codes"));
  const renewSays = text(storage.renew_when_access_denied_says, "protocol.storage.renew_when_access_denied_says");
  const retryCodes = new Set(texts(storage.retry_codes, "protocol.storage.retry_codes"));
  const retryStatuses = new Set(numbers(storage.retry_statuses, "protocol.storage.retry_statuses"));
  const retry5xx = flag(storage.retry_5xx, "protocol.storage.retry_5xx");

  const maxPartsPerSign = object(table.limits, "protocol.limits").max_parts_per_sign;
  if (!(typeof maxPartsPerSign === "number" && Number.isInteger(maxPartsPerSign) && maxPartsPerSign > 0)) {
    throw new Error("protocol.limits.max_parts_per_sign must be a whole number above 0.");
  }

  /** @type {(name: unknown) => name is string} */
  const isStatus = (name) => typeof name === "string" && finals.has(name);
  return Object.freeze({
    statuses: Object.freeze([...finals.keys()]),
    openStatus: open[0],
    maxPartsPerSign,
    appAction(status, code) {
      const known = errors.get(code);
      if (known) return known.action;
      if (status === 0) return "retry";
      return fallback.get(String(status)) ?? fallback.get(`${Math.floor(status / 100)}xx`) ?? "final";
    },
    storageAction(status, code, message) {
      if (renewCodes.has(code)) return "renew";
      // AWS: "Request has expired" for a URL, "Invalid according to Policy: Policy expired." for a form.
      if (code === "AccessDenied" && message.toLowerCase().includes(renewSays)) return "renew";
      if (status === 0 || retryCodes.has(code) || retryStatuses.has(status)) return "retry";
      if (retry5xx && status >= 500) return "retry";
      return "final";
    },
    needsPerson: (code) => errors.get(code)?.needsPerson ?? false,
    isStatus,
    isFinal: (status) => finals.get(status) ?? false,
    analysisStatuses: Object.freeze([...analysisFinals.keys()]),
    analysisFinal: (status) => analysisFinals.get(status) ?? false,
    analysisFailed: (status) => status === ANALYSIS_FAILED,
    fieldChecks: Object.freeze([...checkFinals.keys()]),
    fieldCheckFinal: (status) => checkFinals.get(status) ?? false,
    fieldRefuses: (status) => status === FIELD_REFUSED,
  });
}

/**
 * A table of names, each `{final: boolean}`, as a map of name → final; `needed` must be a final one.
 * @param {unknown} value
 * @param {string} where
 * @param {string} needed
 * @returns {Map<string, boolean>}
 */
function finalsOf(value, where, needed) {
  const finals = new Map(
    Object.entries(object(value, where)).map(([name, entry]) => [
      name,
      flag(object(entry, `${where}.${name}`).final, `${where}.${name}.final`),
    ]),
  );
  if (finals.get(needed) !== true) throw new Error(`${where} has no final ${needed}.`);
  if (![...finals.values()].includes(false)) throw new Error(`${where} must have a status that is not final.`);
  return finals;
}

/** @returns {Record<string, unknown>} */
function object(/** @type {unknown} */ value, /** @type {string} */ where) {
  if (value && typeof value === "object" && !Array.isArray(value)) return /** @type {Record<string, unknown>} */ (value);
  throw new Error(`${where} must be an object.`);
}

function flag(/** @type {unknown} */ value, /** @type {string} */ where) {
  if (typeof value === "boolean") return value;
  throw new Error(`${where} must be true or false.`);
}

function text(/** @type {unknown} */ value, /** @type {string} */ where) {
  if (typeof value === "string") return value;
  throw new Error(`${where} must be text.`);
}

/** @returns {Action} */
function action(/** @type {unknown} */ value, /** @type {string} */ where) {
  const found = ACTIONS.find((known) => known === value);
  if (found) return found;
  throw new Error(`${where} must be one of ${ACTIONS.join(", ")}, not ${JSON.stringify(value)}.`);
}

/** @returns {string[]} */
function texts(/** @type {unknown} */ value, /** @type {string} */ where) {
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value;
  throw new Error(`${where} must be a list of text.`);
}

/** @returns {number[]} */
function numbers(/** @type {unknown} */ value, /** @type {string} */ where) {
  if (Array.isArray(value) && value.every((item) => typeof item === "number")) return value;
  throw new Error(`${where} must be a list of numbers.`);
}
