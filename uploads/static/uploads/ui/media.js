// @ts-check
// What kind of media a file is, and what a preview says about it ("0:05 · 320×240").

import { formatClock } from "../core/format.js";

/** @typedef {"image" | "video" | "audio"} MediaKind */

/**
 * The kind of media a content type is, or null for anything else.
 * @param {string} type
 * @returns {MediaKind | null}
 */
export function mediaKind(type) {
  const kind = String(type || "")
    .toLowerCase()
    .split("/")[0];
  return kind === "image" || kind === "video" || kind === "audio" ? kind : null;
}

/**
 * A preview's figures in words: duration (when the file says it) and picture size (for video).
 * @param {{duration?: number, width?: number, height?: number}} facts
 */
export function mediaMeta({ duration = Number.NaN, width = 0, height = 0 }) {
  const parts = [formatClock(duration)];
  if (width > 0 && height > 0) parts.push(`${width}×${height}`);
  return parts.filter(Boolean).join(" · ");
}
