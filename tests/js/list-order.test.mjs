// The list widget's rules that need no page (widget/order.js): the server's most-files rule read
// from the widget's data attributes and applied to a batch, where a moved file goes, which keys
// move it, and what is announced.
import assert from "node:assert/strict";
import { test } from "node:test";

import { SAY_LIST, keyStep, moveTarget, readFileCount, refusal } from "../../uploads/static/uploads/widget/order.js";

const TOO_MANY = "This field takes at most 5 files.";

test("the most-files rule comes from the widget's data attributes, in the server's words", () => {
  assert.deepEqual(readFileCount({ maxFiles: "5", tooMany: TOO_MANY }), { maxFiles: 5, tooMany: TOO_MANY });
  assert.deepEqual(readFileCount({}), { maxFiles: null, tooMany: "" });
  assert.deepEqual(readFileCount({ maxFiles: "0" }), { maxFiles: null, tooMany: "" });
  assert.deepEqual(readFileCount({ maxFiles: "many" }), { maxFiles: null, tooMany: "" });
});

test("a batch that would pass the most-files rule is refused whole, with the server's words", () => {
  const rule = readFileCount({ maxFiles: "5", tooMany: TOO_MANY });
  assert.equal(refusal(rule, 0, 5), "");
  assert.equal(refusal(rule, 4, 1), "");
  assert.equal(refusal(rule, 5, 1), TOO_MANY, "a sixth file");
  assert.equal(refusal(rule, 2, 4), TOO_MANY, "a batch that does not fit is refused whole");
  assert.equal(refusal(readFileCount({}), 500, 500), "", "no rule: any number");
  assert.equal(refusal({ maxFiles: 2, tooMany: "" }, 2, 1), "At most 2 files.");
});

test("a file moves one place up or down, and not past either end", () => {
  assert.equal(moveTarget(1, -1, 3), 0);
  assert.equal(moveTarget(1, 1, 3), 2);
  assert.equal(moveTarget(0, -1, 3), null);
  assert.equal(moveTarget(2, 1, 3), null);
  assert.equal(moveTarget(0, 1, 1), null);
});

test("Alt+ArrowUp and Alt+ArrowDown move a focused item; other keys do not", () => {
  assert.equal(keyStep({ key: "ArrowUp", altKey: true }), -1);
  assert.equal(keyStep({ key: "ArrowDown", altKey: true }), 1);
  assert.equal(keyStep({ key: "ArrowDown", altKey: false }), 0, "plain arrows scroll the page");
  assert.equal(keyStep({ key: "ArrowDown", altKey: true, ctrlKey: true }), 0);
  assert.equal(keyStep({ key: "Enter", altKey: true }), 0);
});

test("moves and removals are said with the file's name and place", () => {
  assert.equal(SAY_LIST.moved("b.png", 0, 3), "b.png moved to position 1 of 3.");
  assert.equal(SAY_LIST.atEnd("a.png", -1), "a.png is already first.");
  assert.equal(SAY_LIST.atEnd("c.png", 1), "c.png is already last.");
  assert.equal(SAY_LIST.up("a.png"), "Move a.png up");
  assert.equal(SAY_LIST.remove("a.png"), "Remove a.png");
});
