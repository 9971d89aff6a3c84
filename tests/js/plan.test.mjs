// Unit tests for multipart part planning: sizes, the last part, and what is still missing.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  batches,
  bytesHeld,
  missingParts,
  partBounds,
  partSize,
  planFromDescriptor,
  planParts,
} from "../../uploads/static/uploads/plan.js";

const MiB = 1024 * 1024;

test("a file is cut into full parts and a smaller last part", () => {
  const plan = planParts(40 * MiB + 3, 5 * MiB);
  assert.equal(plan.partCount, 9);
  assert.deepEqual(partBounds(plan, 1), { start: 0, end: 5 * MiB });
  assert.deepEqual(partBounds(plan, 8), { start: 35 * MiB, end: 40 * MiB });
  assert.deepEqual(partBounds(plan, 9), { start: 40 * MiB, end: 40 * MiB + 3 });
  assert.equal(partSize(plan, 9), 3);
});

test("an exact multiple has no short last part", () => {
  const plan = planParts(10 * MiB, 5 * MiB);
  assert.equal(plan.partCount, 2);
  assert.equal(partSize(plan, 2), 5 * MiB);
});

test("the parts cover every byte exactly once", () => {
  const plan = planParts(1_000_003, 65_536);
  let next = 0;
  for (let number = 1; number <= plan.partCount; number += 1) {
    const { start, end } = partBounds(plan, number);
    assert.equal(start, next);
    next = end;
  }
  assert.equal(next, plan.size);
});

test("part numbers outside the plan are refused", () => {
  const plan = planParts(10, 4);
  assert.throws(() => partBounds(plan, 0), RangeError);
  assert.throws(() => partBounds(plan, 4), RangeError);
  assert.throws(() => partBounds(plan, 1.5), RangeError);
});

test("more than S3's 10,000 parts is refused", () => {
  assert.throws(() => planParts(10_001, 1), /10000/);
  assert.equal(planParts(10_000, 1).partCount, 10_000);
});

test("the server's descriptor must fit the file", () => {
  assert.equal(planFromDescriptor(12 * MiB, { part_size: 5 * MiB, part_count: 3 }).partCount, 3);
  assert.throws(() => planFromDescriptor(12 * MiB, { part_size: 5 * MiB, part_count: 2 }), /3/);
});

test("missing parts are the plan minus the confirmed parts of the right size", () => {
  const plan = planParts(23, 5); // parts of 5,5,5,5,3
  assert.deepEqual(missingParts(plan), [1, 2, 3, 4, 5]);
  const confirmed = [
    { part_number: 1, size: 5, etag: "a" },
    { part_number: 3, size: 4, etag: "b" }, // wrong size: sent again
    { part_number: 5, size: 3, etag: "c" },
    { part_number: 9, size: 5, etag: "d" }, // not in the plan: ignored
  ];
  assert.deepEqual(missingParts(plan, confirmed), [2, 3, 4]);
  assert.equal(bytesHeld(plan, [2, 3, 4]), 8);
  assert.deepEqual(missingParts(plan, [1, 2, 3, 4, 5].map((n) => ({ part_number: n, size: partSize(plan, n) }))), []);
});

test("batches keep order and size", () => {
  assert.deepEqual(batches([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
  assert.deepEqual(batches([], 3), []);
});
