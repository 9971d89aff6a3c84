// @ts-check
// The server's upload limits, checked in the page so a file that breaks them costs no request at all.

import { formatBytes } from "./format.js";

/** @typedef {{maxBytes: number, allowedTypes: readonly string[], acceptedSummary: string}} Limits */

/** Turn a `type/*` pattern (the server matches with fnmatch) into a regular expression. */
function patternToRegExp(/** @type {string} */ pattern) {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`);
}

/** Tell whether a content type matches one of the allowed patterns (an empty list allows all). */
export function typeAllowed(/** @type {string} */ type, /** @type {readonly string[]} */ patterns) {
  if (!patterns.length) return true;
  const wanted = String(type || "").toLowerCase();
  if (!wanted) return false;
  return patterns.some((pattern) => patternToRegExp(pattern.toLowerCase()).test(wanted));
}

/** Say the allowed patterns in words: ["video/*", "image/png"] → "video files, image/png". */
function describeAllowed(/** @type {readonly string[]} */ patterns) {
  return patterns.map((pattern) => (pattern.endsWith("/*") ? `${pattern.slice(0, -2)} files` : pattern)).join(", ");
}

/**
 * Return why the page refuses this file, in plain words, or "" when it may be uploaded.
 * @param {{size: number, type: string}} file
 * @param {Limits} limits
 */
export function checkFile(file, { maxBytes, allowedTypes, acceptedSummary }) {
  if (!file.size) return "This file is empty.";
  if (file.size > maxBytes) {
    return `Too large: ${formatBytes(file.size)}. The limit is ${formatBytes(maxBytes)}.`;
  }
  if (!typeAllowed(file.type, allowedTypes)) {
    const kind = file.type ? `Files of type ${file.type}` : "Files of an unknown type";
    return `${kind} are not accepted. Accepted: ${acceptedSummary || describeAllowed(allowedTypes)}.`;
  }
  return "";
}
