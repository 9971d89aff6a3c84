// @ts-check
// Which upload holds which record, so two uploads of the same file never drive one record: taken
// at once (no await between looking and taking), released when the upload lets the record go.

/**
 * @typedef {object} Claims
 * @property {(id: string, holder: object) => boolean} take hold `id`; false if another holds it
 * @property {(id: string, holder: object) => void} release let `id` go (only its holder can)
 * @property {(id: string) => boolean} has tell whether some upload holds `id`
 */

/** @returns {Claims} */
export function createClaims() {
  /** @type {Map<string, object>} */
  const holders = new Map();
  return {
    take(id, holder) {
      const current = holders.get(id);
      if (current && current !== holder) return false;
      holders.set(id, holder);
      return true;
    },
    release(id, holder) {
      if (holders.get(id) === holder) holders.delete(id);
    },
    has: (id) => holders.has(id),
  };
}
