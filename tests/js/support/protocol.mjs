// The protocol table the server renders in every config (uploads/protocol.json), read from disk,
// and the page's reader of it: tests speak the same vocabulary the server does.
import { readFileSync } from "node:fs";

import { refusal } from "../../../uploads/static/uploads/core/answers.js";
import { ApiError } from "../../../uploads/static/uploads/core/errors.js";
import { readProtocol } from "../../../uploads/static/uploads/core/protocol.js";

/** The table as the server renders it in a config's `protocol`. */
export const PROTOCOL_TABLE = JSON.parse(readFileSync(new URL("../../../uploads/protocol.json", import.meta.url), "utf8"));

/** The table as the page reads it. */
export const protocol = readProtocol(PROTOCOL_TABLE);

/**
 * An API refusal as the client reads it: its HTTP `status` and JSON error `body` (status 0: no
 * answer at all).
 */
export function apiRefusal(/** @type {number} */ status, body = {}, /** @type {Record<string, string>} */ headers = {}) {
  if (status === 0) return new ApiError(0, { action: protocol.appAction(0, "") });
  return refusal(new Response(null, { status, headers }), body, protocol);
}
