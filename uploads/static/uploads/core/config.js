// @ts-check
// The uploader's settings, read from the config the server renders (the page's json_script, a
// widget's data-config). A setting the server leaves out takes its default; one it sends is used
// as sent, or refused out loud when it makes no sense. Nothing is quietly changed: the server is
// the authority, and its protocol table has no default at all.

import { readProtocol } from "./protocol.js";

/** @import { Protocol } from "./protocol.js" */

/**
 * @typedef {object} UploaderConfig
 * @property {string} api the API's root, e.g. "/api/media/"
 * @property {string} csrfToken
 * @property {number} maxBytes the largest file accepted (Infinity: the server alone decides)
 * @property {string[]} allowedTypes explicit types ("video/mp4") or patterns ("video/*"); [] allows all
 * @property {string} acceptedSummary the accepted types in words, for messages
 * @property {number} multipartThreshold files above this go up in parts (so only they can resume)
 * @property {number} parallelParts parts of one file sent at once
 * @property {number} parallelFiles files uploaded at once
 * @property {number} policyExpires seconds a part URL lives
 * @property {string} uploadsPage where an upload's own page lives: `${uploadsPage}${id}/`
 * @property {string} field a form widget's model field (`app_label.model.field`), whose limits the
 *   ones above are; "" on the page
 * @property {Protocol} protocol the protocol's vocabulary: error codes, record statuses, limits
 */

/** A setting the server sent that the page cannot use. */
export class ConfigError extends Error {
  /** @param {string[]} problems */
  constructor(problems) {
    super(`The uploader's settings are wrong: ${problems.join(" ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/**
 * What the uploader uses when the server leaves a setting out.
 * @type {Readonly<Omit<UploaderConfig, "protocol">>}
 */
export const DEFAULTS = Object.freeze({
  api: "/api/media/",
  csrfToken: "",
  maxBytes: Number.POSITIVE_INFINITY,
  allowedTypes: [],
  acceptedSummary: "",
  multipartThreshold: 64 * 1024 * 1024,
  parallelParts: 4,
  parallelFiles: 2,
  policyExpires: 60,
  uploadsPage: "/uploads/",
  field: "",
});

/** Read the raw config into the uploader's settings; throws a ConfigError naming what is wrong. */
export function readConfig(/** @type {unknown} */ raw) {
  const source = raw && typeof raw === "object" && !Array.isArray(raw) ? Object.fromEntries(Object.entries(raw)) : {};
  /** @type {string[]} */
  const problems = [];
  /**
   * Take a setting: its default when absent, else the value if `valid`, else note the problem.
   * @template T
   * @param {keyof typeof DEFAULTS} key
   * @param {T} fallback
   * @param {(value: unknown) => value is T} valid
   * @param {string} what
   * @returns {T}
   */
  function take(key, fallback, valid, what) {
    const value = source[key];
    if (value === undefined || value === null) return fallback;
    if (valid(value)) return value;
    problems.push(`${key} must be ${what}, not ${JSON.stringify(value)}.`);
    return fallback;
  }
  const whole = (/** @type {"maxBytes" | "multipartThreshold" | "parallelParts" | "parallelFiles" | "policyExpires"} */ key) =>
    take(key, DEFAULTS[key], positiveWhole, "a whole number above 0");
  /** @type {Protocol | null} */
  let protocol = null;
  try {
    protocol = readProtocol(source.protocol);
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  const settings = {
    api: take("api", DEFAULTS.api, nonEmptyText, "a path"),
    csrfToken: take("csrfToken", DEFAULTS.csrfToken, isText, "text"),
    maxBytes: whole("maxBytes"),
    allowedTypes: take("allowedTypes", DEFAULTS.allowedTypes, textList, "a list of types").map((type) => type.trim().toLowerCase()),
    acceptedSummary: take("acceptedSummary", DEFAULTS.acceptedSummary, isText, "text"),
    multipartThreshold: whole("multipartThreshold"),
    parallelParts: whole("parallelParts"),
    parallelFiles: whole("parallelFiles"),
    policyExpires: whole("policyExpires"),
    uploadsPage: take("uploadsPage", DEFAULTS.uploadsPage, nonEmptyText, "a path"),
    field: take("field", DEFAULTS.field, isText, "text"),
  };
  if (problems.length || !protocol) throw new ConfigError(problems);
  /** @type {UploaderConfig} */
  const config = { ...settings, protocol };
  return config;
}

/** @returns {value is string} */
function isText(/** @type {unknown} */ value) {
  return typeof value === "string";
}

/** @returns {value is string} */
function nonEmptyText(/** @type {unknown} */ value) {
  return typeof value === "string" && value.length > 0;
}

/** @returns {value is number} */
function positiveWhole(/** @type {unknown} */ value) {
  return typeof value === "number" && Number.isInteger(value) && value > 0;
}

/** @returns {value is string[]} */
function textList(/** @type {unknown} */ value) {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}
