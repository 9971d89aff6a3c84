// Progress maths: speed over a window, time left, and the overall figures (counted as each
// status's flags say; states.test.mjs checks every status).
import assert from "node:assert/strict";
import { test } from "node:test";

import { formatDuration, formatSpeed } from "../../uploads/static/uploads/core/format.js";
import { createSpeedMeter, summarize, timeLeft } from "../../uploads/static/uploads/core/progress.js";

test("speed is bytes over the window's time", () => {
  let clock = 0;
  const meter = createSpeedMeter({ windowMs: 5000, now: () => clock });
  meter.update(0);
  assert.equal(meter.speed(), 0);
  clock = 1000;
  meter.update(2_000_000);
  assert.equal(meter.speed(), 2_000_000);
  clock = 2000;
  meter.update(3_000_000);
  assert.equal(meter.speed(), 1_500_000);
});

test("old samples leave the window, so the speed follows the recent rate", () => {
  let clock = 0;
  const meter = createSpeedMeter({ windowMs: 2000, now: () => clock });
  meter.update(0);
  for (let second = 1; second <= 10; second += 1) {
    clock = second * 1000;
    meter.update(second <= 5 ? second * 10_000_000 : 50_000_000 + (second - 5) * 1_000_000);
  }
  assert.equal(meter.speed(), 1_000_000);
});

test("no speed until half a second has passed; a restart empties the window", () => {
  let clock = 0;
  const meter = createSpeedMeter({ now: () => clock });
  meter.update(0);
  clock = 100;
  meter.update(1000);
  assert.equal(meter.speed(), 0);
  clock = 1000;
  meter.update(500); // a part restarted
  assert.equal(meter.speed(), 0);
  clock = 2000;
  meter.update(1500);
  assert.equal(meter.speed(), 1000);
  meter.reset();
  assert.equal(meter.speed(), 0);
});

test("time left is the remaining bytes over the speed", () => {
  assert.equal(timeLeft(10_000, 1000), 10);
  assert.equal(timeLeft(-5, 1000), 0);
  assert.equal(timeLeft(10_000, 0), null);
});

test("the overall figures leave out refused and cancelled files", () => {
  const summary = summarize([
    { status: "uploaded", loaded: 100, total: 100, speed: 0 },
    { status: "uploading", loaded: 50, total: 300, speed: 25 },
    { status: "queued", loaded: 0, total: 100, speed: 0 },
    { status: "rejected", loaded: 0, total: 999, speed: 0 },
    { status: "aborted", loaded: 10, total: 999, speed: 0 },
  ]);
  assert.deepEqual(summary, {
    count: 3,
    done: 1,
    active: 2,
    loaded: 150,
    total: 500,
    percent: 30,
    speed: 25,
    secondsLeft: 14,
  });
  assert.equal(summarize([]).percent, 0);
  assert.equal(summarize([{ status: "paused", loaded: 1, total: 2, speed: 9 }]).secondsLeft, null);
  assert.equal(summarize([{ status: "cancelling", loaded: 1, total: 2, speed: 0 }]).count, 0);
});

test("speeds and durations read naturally", () => {
  assert.equal(formatSpeed(0), "");
  assert.equal(formatSpeed(2.5 * 1024 * 1024), "2.5 MB/s");
  assert.equal(formatDuration(0.2), "1 s");
  assert.equal(formatDuration(45), "45 s");
  assert.equal(formatDuration(200), "3 min 20 s");
  assert.equal(formatDuration(180), "3 min");
  assert.equal(formatDuration(7500), "2 h 5 min");
  assert.equal(formatDuration(Number.NaN), "");
});
