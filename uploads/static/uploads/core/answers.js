// @ts-check
// The server's answers, read once: each JSON body becomes a typed fact (a record, an upload
// descriptor, signed parts, a part listing), each refusal an ApiError carrying what the protocol
// says to do about it. Nothing else reads them.

import { ApiError, ContractError } from "./errors.js";

/** @import { Protocol } from "./protocol.js" */

/**
 * @typedef {string} RecordStatus one of the protocol table's `statuses`
 * @typedef {"post" | "multipart"} UploadMethod
 *
 * @typedef {object} MediaRecord
 * @property {string} id
 * @property {string} key
 * @property {string} filename
 * @property {string} content_type
 * @property {number} size
 * @property {RecordStatus} status
 * @property {UploadMethod} upload_method
 * @property {number} bytes_confirmed
 * @property {string} etag
 * @property {string} failure_reason
 * @property {string} created_at
 * @property {string | null} uploaded_at
 * @property {string | null} download_url short-lived; only for uploaded records
 * @property {string | null} field_value what a form field submits to attach the record: complete/
 *   gives it for a record created naming a `field`; null otherwise
 * @property {Analysis} analysis where the background analysis of the uploaded file stands
 * @property {MediaMetadata | null} metadata what analysis found; null until it is done
 * @property {string | null} poster_url short-lived; a video's poster frame, once analysis made it
 * @property {string | null} thumbnail_url short-lived; a small picture of a video or image, once
 *   analysis made it
 * @property {FieldCheck | null} field_check whether the model field the record was uploaded for
 *   takes it (the server's rule, only shown here); null for a record made for no field
 *
 * @typedef {string} AnalysisStatus one of the protocol table's `analysis_statuses`
 * @typedef {object} Analysis where the background analysis of an uploaded file stands
 * @property {AnalysisStatus} status
 * @property {string | null} reason names why the last attempt failed
 * @property {string | null} detail the reason, for a person
 * @property {boolean} final it never changes again: what it found, or that it failed, is known
 * @property {boolean} failed it could not be done (the upload itself is fine)
 *
 * @typedef {string} FieldCheckStatus one of the protocol table's `field_checks`
 * @typedef {object} FieldCheck whether the field a record was uploaded for takes it
 * @property {FieldCheckStatus} status
 * @property {string | null} message why it is refused, for a person
 * @property {boolean} final the field has said; else it waits for the analysis (ask again)
 * @property {boolean} refused the field refuses the record
 *
 * @typedef {object} VideoMetadata what a video is; sizes as displayed (rotation applied)
 * @property {"video"} kind
 * @property {string} container
 * @property {number} width
 * @property {number} height
 * @property {number} rotation clockwise degrees
 * @property {string | null} display_aspect_ratio such as "16:9"
 * @property {number | null} duration seconds; null when unknown
 * @property {string | null} duration_source
 * @property {number | null} frame_rate
 * @property {string} video_codec
 * @property {string | null} audio_codec
 * @property {boolean} has_audio
 * @property {number | null} bit_rate bits per second
 *
 * @typedef {object} AudioMetadata what an audio file is
 * @property {"audio"} kind
 * @property {string} container
 * @property {number | null} duration seconds; null when unknown
 * @property {string | null} duration_source
 * @property {string} codec
 * @property {number} sample_rate
 * @property {number} channels
 * @property {number | null} bit_rate bits per second
 *
 * @typedef {object} ImageMetadata what an image is; sizes as displayed (EXIF orientation applied)
 * @property {"image"} kind
 * @property {string} format
 * @property {number} width
 * @property {number} height
 * @property {number} rotation clockwise degrees
 * @property {"landscape" | "portrait" | "square"} orientation
 * @property {boolean} animated
 * @property {number} frames
 *
 * @typedef {VideoMetadata | AudioMetadata | ImageMetadata} MediaMetadata
 *
 * @typedef {{method: "post", url: string, fields: Record<string, string>, expires_at: string}} PostUpload
 * @typedef {{method: "multipart", part_size: number, part_count: number, expires_at: string,
 *   first_parts: SignedParts | null}} MultipartUpload
 * @typedef {PostUpload | MultipartUpload} UploadDescriptor
 * @typedef {MediaRecord & {upload: UploadDescriptor}} CreatedRecord
 * @typedef {{part_number: number, url: string, size: number}} SignedPart PUT exactly `size` bytes to `url`
 * @typedef {{expires_at: string, parts: SignedPart[]}} SignedParts
 * @typedef {{part_number: number, size: number, etag: string}} HeldPart
 * @typedef {{part_size: number, part_count: number, bytes_confirmed: number, parts: HeldPart[],
 *   missing: number[]}} PartListing
 * @typedef {{count: number, results: MediaRecord[]}} RecordPage
 * @typedef {{name: string, size: number, type: string}} FileFacts what the server is told of a file
 */

const METHODS = /** @type {const} */ (["post", "multipart"]);
const ORIENTATIONS = /** @type {const} */ (["landscape", "portrait", "square"]);

/**
 * Read the error shape of every non-2xx answer: `{detail, code}`, a 409's `status`, a 400's
 * `fields`; the protocol says what to do about its code (or, for a code it does not know, its
 * HTTP status).
 * @param {Response} response
 * @param {unknown} data
 * @param {Protocol} protocol
 */
export function refusal(response, data, protocol) {
  const body = data && typeof data === "object" && !Array.isArray(data) ? /** @type {Record<string, unknown>} */ (data) : {};
  const code = typeof body.code === "string" ? body.code : "";
  // Retry-After in seconds, the form DRF's throttling sends.
  const seconds = Number(response.headers.get("Retry-After"));
  return new ApiError(response.status, {
    action: protocol.appAction(response.status, code),
    needsPerson: protocol.needsPerson(code),
    detail: typeof body.detail === "string" ? body.detail : "",
    code,
    recordStatus: protocol.isStatus(body.status) ? body.status : null,
    fields: readFields(body.fields),
    retryAfterMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0,
  });
}

/** A 400's `{name: [messages]}`, or null. */
function readFields(/** @type {unknown} */ value) {
  if (!value || typeof value !== "object" || Array.isArray(value)) return null;
  /** @type {Record<string, string[]>} */
  const fields = {};
  for (const [name, messages] of Object.entries(value)) {
    fields[name] = Array.isArray(messages) ? messages.map(String) : [String(messages)];
  }
  return fields;
}

/** @returns {MediaRecord} */
export function readRecord(/** @type {unknown} */ value, /** @type {Protocol} */ protocol) {
  const o = object(value, "record");
  return {
    id: text(o, "id"),
    key: optionalText(o, "key") ?? "",
    filename: text(o, "filename"),
    content_type: text(o, "content_type"),
    size: count(o, "size"),
    status: choice(o, "status", protocol.statuses),
    upload_method: choice(o, "upload_method", METHODS),
    bytes_confirmed: Number(o.bytes_confirmed) || 0,
    etag: optionalText(o, "etag") ?? "",
    failure_reason: optionalText(o, "failure_reason") ?? "",
    created_at: text(o, "created_at"),
    uploaded_at: optionalText(o, "uploaded_at"),
    download_url: optionalText(o, "download_url"),
    field_value: optionalText(o, "field_value"),
    analysis: readAnalysis(o.analysis, protocol),
    metadata: readMetadata(o.metadata),
    poster_url: optionalText(o, "poster_url"),
    thumbnail_url: optionalText(o, "thumbnail_url"),
    field_check: o.field_check == null ? null : readFieldCheck(o.field_check, protocol),
  };
}

/** @returns {Analysis} */
function readAnalysis(/** @type {unknown} */ value, /** @type {Protocol} */ protocol) {
  const o = object(value, "analysis");
  const status = choice(o, "status", protocol.analysisStatuses);
  return {
    status,
    reason: optionalText(o, "reason"),
    detail: optionalText(o, "detail"),
    final: protocol.analysisFinal(status),
    failed: protocol.analysisFailed(status),
  };
}

/** @returns {FieldCheck} */
function readFieldCheck(/** @type {unknown} */ value, /** @type {Protocol} */ protocol) {
  const o = object(value, "field_check");
  const status = choice(o, "status", protocol.fieldChecks);
  return { status, message: optionalText(o, "message"), final: protocol.fieldCheckFinal(status), refused: protocol.fieldRefuses(status) };
}

/**
 * What analysis found, by its kind; null before it is done, and for a kind this page does not
 * know yet (a newer server's): it only shows these figures.
 * @returns {MediaMetadata | null}
 */
function readMetadata(/** @type {unknown} */ value) {
  if (value == null) return null;
  const o = object(value, "metadata");
  const duration = () => optionalNumber(o, "duration");
  const durationSource = () => optionalText(o, "duration_source");
  const bitRate = () => optionalNumber(o, "bit_rate");
  if (o.kind === "video") {
    return {
      kind: "video",
      container: text(o, "container"),
      width: count(o, "width"),
      height: count(o, "height"),
      rotation: Number(o.rotation) || 0,
      display_aspect_ratio: optionalText(o, "display_aspect_ratio"),
      duration: duration(),
      duration_source: durationSource(),
      frame_rate: optionalNumber(o, "frame_rate"),
      video_codec: text(o, "video_codec"),
      audio_codec: optionalText(o, "audio_codec"),
      has_audio: o.has_audio === true,
      bit_rate: bitRate(),
    };
  }
  if (o.kind === "audio") {
    return {
      kind: "audio",
      container: text(o, "container"),
      duration: duration(),
      duration_source: durationSource(),
      codec: text(o, "codec"),
      sample_rate: count(o, "sample_rate"),
      channels: count(o, "channels"),
      bit_rate: bitRate(),
    };
  }
  if (o.kind === "image") {
    return {
      kind: "image",
      format: text(o, "format"),
      width: count(o, "width"),
      height: count(o, "height"),
      rotation: Number(o.rotation) || 0,
      orientation: choice(o, "orientation", ORIENTATIONS),
      animated: o.animated === true,
      frames: count(o, "frames"),
    };
  }
  return null;
}

/** @returns {CreatedRecord} */
export function readCreated(/** @type {unknown} */ value, /** @type {Protocol} */ protocol) {
  const o = object(value, "created record");
  return { ...readRecord(o, protocol), upload: readUpload(o.upload) };
}

/** The `{upload}` of authorize/. */
export function readAuthorization(/** @type {unknown} */ value) {
  return readUpload(object(value, "authorisation").upload);
}

/** @returns {UploadDescriptor} */
function readUpload(/** @type {unknown} */ value) {
  const o = object(value, "upload");
  const method = choice(o, "method", METHODS);
  const expires_at = text(o, "expires_at");
  if (method === "multipart") {
    const first_parts = o.first_parts == null ? null : readSignedParts(o.first_parts);
    return { method, part_size: count(o, "part_size"), part_count: count(o, "part_count"), expires_at, first_parts };
  }
  const given = object(o.fields, "upload.fields");
  const fields = Object.fromEntries(Object.keys(given).map((name) => [name, text(given, name)]));
  return { method, url: text(o, "url"), fields, expires_at };
}

/** @returns {SignedParts} */
export function readSignedParts(/** @type {unknown} */ value) {
  const o = object(value, "signed parts");
  return {
    expires_at: text(o, "expires_at"),
    parts: list(o, "parts").map((item) => {
      const part = object(item, "signed part");
      return { part_number: count(part, "part_number"), url: text(part, "url"), size: count(part, "size") };
    }),
  };
}

/** @returns {PartListing} */
export function readPartListing(/** @type {unknown} */ value) {
  const o = object(value, "part listing");
  return {
    part_size: count(o, "part_size"),
    part_count: count(o, "part_count"),
    bytes_confirmed: Number(o.bytes_confirmed) || 0,
    parts: list(o, "parts").map((item) => {
      const part = object(item, "held part");
      return { part_number: count(part, "part_number"), size: count(part, "size"), etag: optionalText(part, "etag") ?? "" };
    }),
    missing: list(o, "missing").map((number) => {
      if (!Number.isInteger(number) || Number(number) < 1) throw new ContractError(`missing part ${number}`);
      return Number(number);
    }),
  };
}

/** @returns {RecordPage} */
export function readPage(/** @type {unknown} */ value, /** @type {Protocol} */ protocol) {
  const o = object(value, "page of records");
  const results = list(o, "results").map((item) => readRecord(item, protocol));
  return { count: Number(o.count) || results.length, results };
}

/** @returns {Record<string, unknown>} */
function object(/** @type {unknown} */ value, /** @type {string} */ what) {
  if (value && typeof value === "object" && !Array.isArray(value)) return /** @type {Record<string, unknown>} */ (value);
  throw new ContractError(`${what} is missing`);
}

/** @returns {unknown[]} */
function list(/** @type {Record<string, unknown>} */ o, /** @type {string} */ key) {
  const value = o[key];
  if (Array.isArray(value)) return value;
  throw new ContractError(`${key} is not a list`);
}

function text(/** @type {Record<string, unknown>} */ o, /** @type {string} */ key) {
  const value = o[key];
  if (typeof value === "string") return value;
  throw new ContractError(`${key} is not text`);
}

/** @returns {string | null} */
function optionalText(/** @type {Record<string, unknown>} */ o, /** @type {string} */ key) {
  const value = o[key];
  return typeof value === "string" ? value : null;
}

/** A finite number, or null (absent, null, or not a number). */
function optionalNumber(/** @type {Record<string, unknown>} */ o, /** @type {string} */ key) {
  const value = o[key];
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function count(/** @type {Record<string, unknown>} */ o, /** @type {string} */ key) {
  const value = o[key];
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return value;
  throw new ContractError(`${key} is not a whole number`);
}

/**
 * @template {string} T
 * @param {Record<string, unknown>} o
 * @param {string} key
 * @param {readonly T[]} allowed
 * @returns {T}
 */
function choice(o, key, allowed) {
  const found = allowed.find((name) => name === o[key]);
  if (found !== undefined) return found;
  throw new ContractError(`${key} ${JSON.stringify(o[key])} is none of ${allowed.join(", ")}`);
}
