// The page's settings, read from the json_script config the server renders, with safe defaults.

const MiB = 1024 * 1024;
/** S3 takes at most 5 GiB in one POST: anything bigger goes up in parts whatever the threshold. */
export const SINGLE_POST_MAX_BYTES = 5 * 1024 ** 3;

/** Defaults used when the server leaves a setting out (it stays the authority: it validates again). */
export const DEFAULTS = Object.freeze({
  api: "/api/media/",
  csrfToken: "",
  // No client-side size limit unless the server sends one; the API refuses what it must.
  maxBytes: Number.POSITIVE_INFINITY,
  allowedTypes: [],
  // The accepted types in words (the server's summary); empty means "say the patterns".
  acceptedSummary: "",
  multipartThreshold: 64 * MiB,
  partSize: 16 * MiB,
  parallelParts: 4,
  parallelFiles: 2,
  policyExpires: 60,
});

/** Return `value` if it is a positive finite number, else `fallback`. */
function positive(value, fallback) {
  const number = Number(value);
  return Number.isFinite(number) && number > 0 ? number : fallback;
}

/** Clamp a whole number into [low, high]; browsers cap connections per host, so keep counts small. */
function between(value, low, high) {
  return Math.min(high, Math.max(low, Math.floor(value)));
}

/** Normalise the raw page config into the settings the uploader uses. */
export function readConfig(raw = {}) {
  const source = raw && typeof raw === "object" ? raw : {};
  return {
    api: typeof source.api === "string" && source.api ? source.api : DEFAULTS.api,
    csrfToken: typeof source.csrfToken === "string" ? source.csrfToken : DEFAULTS.csrfToken,
    maxBytes: positive(source.maxBytes, DEFAULTS.maxBytes),
    allowedTypes: Array.isArray(source.allowedTypes)
      ? source.allowedTypes.map((type) => String(type).trim().toLowerCase()).filter(Boolean)
      : DEFAULTS.allowedTypes,
    acceptedSummary:
      typeof source.acceptedSummary === "string" ? source.acceptedSummary : DEFAULTS.acceptedSummary,
    multipartThreshold: Math.min(
      positive(source.multipartThreshold, DEFAULTS.multipartThreshold),
      SINGLE_POST_MAX_BYTES,
    ),
    partSize: positive(source.partSize, DEFAULTS.partSize),
    parallelParts: between(positive(source.parallelParts, DEFAULTS.parallelParts), 1, 8),
    parallelFiles: between(positive(source.parallelFiles, DEFAULTS.parallelFiles), 1, 6),
    policyExpires: positive(source.policyExpires, DEFAULTS.policyExpires),
  };
}
