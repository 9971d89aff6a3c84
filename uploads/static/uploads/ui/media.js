// @ts-check
// What kind of media a file is, and what a preview (or the server's analysis) says about it
// ("0:05 · 320×240").

import { formatClock } from "../core/format.js";

/** @import { MediaMetadata } from "../core/answers.js" */

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

/**
 * What the server's analysis found, in the same words as a local preview: "0:10 · 640×360" for a
 * video, "800×600" for an image, "0:03" for audio ("" before it is known).
 * @param {MediaMetadata | null} metadata
 */
export function metadataSummary(metadata) {
  if (!metadata) return "";
  if (metadata.kind === "image") return mediaMeta({ width: metadata.width, height: metadata.height });
  if (metadata.kind === "audio") return mediaMeta({ duration: metadata.duration ?? Number.NaN });
  return mediaMeta({ duration: metadata.duration ?? Number.NaN, width: metadata.width, height: metadata.height });
}
