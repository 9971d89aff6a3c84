// Unit tests for the upload queue: the concurrency limit, order, front insertion and cancel.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createQueue } from "../../uploads/static/uploads/core/queue.js";

/** A task that records when it starts and finishes when the test says so. */
function gate(/** @type {string[]} */ log, /** @type {string} */ name) {
  /** @type {(value?: unknown) => void} */
  let open = () => {};
  const opened = new Promise((resolve) => (open = resolve));
  const task = async () => {
    log.push(`start ${name}`);
    await opened;
    log.push(`end ${name}`);
  };
  return { task, open };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

test("no more than `concurrency` tasks run at once, in the order added", async () => {
  /** @type {string[]} */
  const log = [];
  const queue = createQueue({ concurrency: 2 });
  const gates = ["a", "b", "c", "d"].map((name) => gate(log, name));
  for (const g of gates) queue.add(g.task);
  await tick();
  assert.deepEqual(log, ["start a", "start b"]);
  assert.equal(queue.running, 2);
  assert.equal(queue.waiting, 2);
  gates[1].open();
  await tick();
  assert.deepEqual(log, ["start a", "start b", "end b", "start c"]);
  gates[0].open();
  gates[2].open();
  gates[3].open();
  await queue.idle();
  assert.deepEqual(
    log.filter((line) => line.startsWith("start")),
    ["start a", "start b", "start c", "start d"],
  );
});

test("a waiting task can be cancelled; a running one cannot be removed", async () => {
  /** @type {string[]} */
  const log = [];
  const queue = createQueue({ concurrency: 1 });
  const a = gate(log, "a");
  const b = gate(log, "b");
  const c = gate(log, "c");
  const ticketA = queue.add(a.task);
  const ticketB = queue.add(b.task);
  queue.add(c.task);
  await tick();
  assert.equal(ticketB.cancel(), true);
  assert.equal(ticketB.state, "cancelled");
  assert.equal(ticketA.cancel(), false);
  a.open();
  c.open();
  await queue.idle();
  assert.deepEqual(log, ["start a", "end a", "start c", "end c"]);
});

test("a task added at the front goes next", async () => {
  /** @type {string[]} */
  const log = [];
  const queue = createQueue({ concurrency: 1 });
  const gates = ["a", "b", "c"].map((name) => gate(log, name));
  queue.add(gates[0].task);
  queue.add(gates[1].task);
  await tick();
  queue.add(gates[2].task, { front: true });
  for (const g of gates) g.open();
  await queue.idle();
  assert.deepEqual(
    log.filter((line) => line.startsWith("start")),
    ["start a", "start c", "start b"],
  );
});

test("a failing task frees its slot and is reported", async () => {
  /** @type {string[]} */
  const errors = [];
  const queue = createQueue({ concurrency: 1, onError: (error) => errors.push(String(/** @type {Error} */ (error).message)) });
  /** @type {string[]} */
  const ran = [];
  queue.add(async () => {
    throw new Error("boom");
  });
  queue.add(async () => void ran.push("next"));
  await queue.idle();
  assert.deepEqual(errors, ["boom"]);
  assert.deepEqual(ran, ["next"]);
});
