// Unit tests for the page's formatting helpers (Node's built-in test runner, no DOM).
import assert from "node:assert/strict";
import { test } from "node:test";

import { formatBytes, percent } from "../../uploads/static/uploads/format.js";

test("formatBytes matches the admin's 1024-based sizes", () => {
  assert.equal(formatBytes(1), "1 byte");
  assert.equal(formatBytes(1023), "1023 bytes");
  assert.equal(formatBytes(2048), "2.0 KB");
  assert.equal(formatBytes(3 * 1024 * 1024 + 17), "3.0 MB");
  assert.equal(formatBytes(5 * 1024 ** 3), "5.0 GB");
  assert.equal(formatBytes(5 * 1024 ** 4), "5.0 TB");
});

test("percent is whole, capped at 100 and safe for empty files", () => {
  assert.equal(percent(0, 10), 0);
  assert.equal(percent(5, 10), 50);
  assert.equal(percent(999, 1000), 99);
  assert.equal(percent(11, 10), 100);
  assert.equal(percent(0, 0), 0);
});
