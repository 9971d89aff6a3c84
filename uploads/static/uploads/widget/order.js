// @ts-check
// The list widget's rules that need no page: how many files fit, where a moved file goes, which
// keys move it, and what is said about it. The most-files rule's words are the server's
// (data-too-many), never made up here.

/**
 * The server's most-files rule, as the widget's data attributes carry it.
 * @typedef {{maxFiles: number | null, tooMany: string}} FileCount
 */

/**
 * Read the rule from a list widget's dataset (no data-max-files: any number).
 * @param {{maxFiles?: string, tooMany?: string}} dataset
 * @returns {FileCount}
 */
export function readFileCount(dataset) {
  const most = Number.parseInt(dataset.maxFiles ?? "", 10);
  return { maxFiles: Number.isInteger(most) && most > 0 ? most : null, tooMany: dataset.tooMany ?? "" };
}

/**
 * Why `adding` more files may not join the `held` ones (the server's words), or "" when they fit.
 * @param {FileCount} rule
 * @param {number} held
 * @param {number} adding
 */
export function refusal(rule, held, adding) {
  if (rule.maxFiles === null || held + adding <= rule.maxFiles) return "";
  return rule.tooMany || `At most ${rule.maxFiles} files.`;
}

/**
 * Where the file at `index` of `count` goes when moved by `step` (-1 up, +1 down); null at an end.
 * @param {number} index
 * @param {number} step
 * @param {number} count
 */
export function moveTarget(index, step, count) {
  const to = index + step;
  return to < 0 || to >= count ? null : to;
}

/**
 * The step a key press asks of a focused item: Alt+ArrowUp -1, Alt+ArrowDown +1, else 0.
 * @param {{key: string, altKey: boolean, ctrlKey?: boolean, metaKey?: boolean}} event
 */
export function keyStep({ key, altKey, ctrlKey = false, metaKey = false }) {
  if (!altKey || ctrlKey || metaKey) return 0;
  if (key === "ArrowUp") return -1;
  if (key === "ArrowDown") return 1;
  return 0;
}

/** What the list says about its files (announced in its aria-live status line). */
export const SAY_LIST = Object.freeze({
  moved: (/** @type {string} */ name, /** @type {number} */ to, /** @type {number} */ count) =>
    `${name} moved to position ${to + 1} of ${count}.`,
  atEnd: (/** @type {string} */ name, /** @type {number} */ step) => `${name} is already ${step < 0 ? "first" : "last"}.`,
  removed: (/** @type {string} */ name) => `${name} removed. Save the form to keep the change.`,
  up: (/** @type {string} */ name) => `Move ${name} up`,
  down: (/** @type {string} */ name) => `Move ${name} down`,
  remove: (/** @type {string} */ name) => `Remove ${name}`,
});
