// A record's analysis and its field's check as the page reads them (what the protocol table says
// of each status included), and what a record says before any analysis: tests' records start from it.
import { protocol } from "./protocol.mjs";

/**
 * @import { Analysis, FieldCheck, MediaRecord } from "../../../uploads/static/uploads/core/answers.js"
 */

/**
 * An analysis in `status`, as answers.js reads it.
 * @param {string} status
 * @param {{reason?: string | null, detail?: string | null}} [why]
 * @returns {Analysis}
 */
export const analysisOf = (status, { reason = null, detail = null } = {}) => ({
  status,
  reason,
  detail,
  final: protocol.analysisFinal(status),
  failed: protocol.analysisFailed(status),
});

/**
 * A field's check in `status`, as answers.js reads it.
 * @param {string} status
 * @param {string | null} [message]
 * @returns {FieldCheck}
 */
export const checkOf = (status, message = null) => ({
  status,
  message,
  final: protocol.fieldCheckFinal(status),
  refused: protocol.fieldRefuses(status),
});

/** @type {Pick<MediaRecord, "analysis" | "metadata" | "poster_url" | "thumbnail_url" | "field_check">} */
export const NOT_ANALYSED = Object.freeze({
  analysis: analysisOf("none"),
  metadata: null,
  poster_url: null,
  thumbnail_url: null,
  field_check: null,
});
