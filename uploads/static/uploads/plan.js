// Multipart planning: which bytes of a file each S3 part carries, and which parts are still missing.

/** S3 numbers parts 1 to 10,000. */
export const MAX_PARTS = 10_000;

/** A plan for `size` bytes in parts of `partSize` (the last part may be smaller). */
export function planParts(size, partSize) {
  if (!(size > 0) || !(partSize > 0)) throw new RangeError("size and part size must be positive");
  const partCount = Math.ceil(size / partSize);
  if (partCount > MAX_PARTS) throw new RangeError(`${partCount} parts is more than S3's ${MAX_PARTS}`);
  return { size, partSize, partCount };
}

/** Take the server's multipart descriptor, checking it fits the file actually picked. */
export function planFromDescriptor(size, { part_size: partSize, part_count: partCount }) {
  const plan = planParts(size, partSize);
  if (partCount !== undefined && plan.partCount !== partCount) {
    throw new RangeError(`the server planned ${partCount} parts; this file needs ${plan.partCount}`);
  }
  return plan;
}

/** Byte range [start, end) of 1-based part `number`, ready for Blob.slice. */
export function partBounds(plan, number) {
  if (!Number.isInteger(number) || number < 1 || number > plan.partCount) {
    throw new RangeError(`part ${number} is outside 1..${plan.partCount}`);
  }
  const start = (number - 1) * plan.partSize;
  return { start, end: Math.min(start + plan.partSize, plan.size) };
}

/** Exact byte count of part `number` (what its signed URL's Content-Length pins). */
export function partSize(plan, number) {
  const { start, end } = partBounds(plan, number);
  return end - start;
}

/** Part numbers S3 does not hold yet: a confirmed part of the wrong size is sent again. */
export function missingParts(plan, confirmed = []) {
  const held = new Set(
    confirmed
      .filter((part) => part.part_number >= 1 && part.part_number <= plan.partCount)
      .filter((part) => part.size === partSize(plan, part.part_number))
      .map((part) => part.part_number),
  );
  const missing = [];
  for (let number = 1; number <= plan.partCount; number += 1) {
    if (!held.has(number)) missing.push(number);
  }
  return missing;
}

/** Bytes of a plan not in `missing`, i.e. already in the bucket. */
export function bytesHeld(plan, missing) {
  return plan.size - missing.reduce((sum, number) => sum + partSize(plan, number), 0);
}

/** Split a list into consecutive batches of at most `size` items. */
export function batches(list, size) {
  const out = [];
  for (let index = 0; index < list.length; index += size) out.push(list.slice(index, index + size));
  return out;
}
