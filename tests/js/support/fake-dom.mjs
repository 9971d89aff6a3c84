// A small stand-in for the DOM, enough for the page's views (they build with createElement and
// append, never innerHTML): elements with classes, data attributes, hidden, text, focus and events.
// For the form widgets also: simple CSS selectors (querySelector, matches, closest), events that
// bubble up to the document and its window, isConnected, before().

/**
 * What tests see of a fake element: the DOM element the code under test takes it for, the fake's
 * own helpers, and the few properties of particular elements (an image's `src`, an input's
 * `files`…) that tests read off whatever they found.
 * @typedef {HTMLElement & FakeHelpers} FakeNode
 */

/**
 * @typedef {object} FakeHelpers
 * @property {string} ownText the element's own text, without its children's (a button's label,
 *   without the file name hidden for screen readers)
 * @property {(selector: string) => FakeNode} find the first element below matching "tag.class"
 *   (throws naming the selector when none does)
 * @property {(selector: string) => FakeNode[]} findAll every element below matching "tag.class"
 * @property {string} src
 * @property {string} alt
 * @property {string} href
 * @property {string} value
 * @property {string} name
 * @property {string} type
 * @property {string} loading
 * @property {string} preload
 * @property {boolean} muted
 * @property {boolean} disabled
 * @property {File[]} files
 */

/** @typedef {{tag: string, id: string, classes: string[], attributes: [string, string | undefined][]}} SelectorStep */

class FakeElement extends EventTarget {
  /** @param {FakeDocument} doc @param {string} tagName */
  constructor(doc, tagName) {
    super();
    this.ownerDocument = doc;
    this.tagName = tagName.toUpperCase();
    /** @type {(FakeElement | string)[]} */
    this.children = [];
    /** @type {FakeElement | null} */
    this.parentElement = null;
    /** @type {Record<string, string>} */
    this.dataset = {};
    /** @type {Map<string, string>} */
    this.attributes = new Map();
    this.hidden = false;
    this.className = "";
    this.id = "";
    this.ownText = "";
  }
  get classList() {
    const names = () => this.className.split(/\s+/).filter(Boolean);
    return {
      contains: (/** @type {string} */ name) => names().includes(name),
      add: (/** @type {string} */ name) => (this.className = [...new Set([...names(), name])].join(" ")),
      remove: (/** @type {string} */ name) =>
        (this.className = names()
          .filter((other) => other !== name)
          .join(" ")),
    };
  }
  /** @returns {string} */
  get textContent() {
    return this.ownText + this.children.map((child) => (typeof child === "string" ? child : child.textContent)).join("");
  }
  set textContent(text) {
    this.children = [];
    this.ownText = String(text);
  }
  /** @param {...(FakeElement | string)} nodes */
  append(...nodes) {
    for (const node of nodes) {
      if (typeof node !== "string") {
        node.remove(); // from wherever it is (not at all when it was just cleared from this one)
        node.parentElement = this;
      }
      this.children.push(node);
    }
  }
  /** @param {...(FakeElement | string)} nodes */
  replaceChildren(...nodes) {
    this.children = [];
    this.ownText = "";
    this.append(...nodes);
  }
  remove() {
    if (!this.parentElement) return;
    const at = this.parentElement.children.indexOf(this);
    if (at >= 0) this.parentElement.children.splice(at, 1);
    this.parentElement = null;
  }
  /** @param {string} name @param {unknown} value */
  setAttribute(name, value) {
    this.attributes.set(name, String(value));
  }
  /** @param {string} name */
  getAttribute(name) {
    return this.attributes.get(name) ?? null;
  }
  /** @param {string} name */
  removeAttribute(name) {
    this.attributes.delete(name);
    if (name === "src") this.property("src", "");
  }
  /** @param {FakeElement} node */
  contains(node) {
    for (let at = /** @type {FakeElement | null} */ (node); at; at = at.parentElement) if (at === this) return true;
    return false;
  }
  /** @param {string} selector */
  closest(selector) {
    for (let at = /** @type {FakeElement | null} */ (this); at; at = at.parentElement) if (at.matches(selector)) return at;
    return null;
  }
  /** True once the element hangs from the document's body. */
  get isConnected() {
    /** @type {FakeElement} */
    let top = this;
    while (top.parentElement) top = top.parentElement;
    return top === this.ownerDocument.body;
  }
  /** Put `nodes` just before this element, in its parent. @param {...(FakeElement | string)} nodes */
  before(...nodes) {
    const parent = this.parentElement;
    if (!parent) throw new Error("The fake DOM puts nothing before an element with no parent.");
    for (const node of nodes) {
      if (typeof node !== "string") {
        node.remove();
        node.parentElement = parent;
      }
      parent.children.splice(parent.children.indexOf(this), 0, node);
    }
  }
  /**
   * A property a test or the code set on the element (`img.src`), read, or written when given.
   * @param {string} name
   * @param {...unknown} value
   */
  property(name, ...value) {
    const self = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (this));
    if (value.length) self[name] = value[0];
    return self[name];
  }
  /**
   * An attribute as a selector reads it: data-* from dataset, reflected ones from properties.
   * @param {string} name
   * @returns {string | null}
   */
  attributeValue(name) {
    if (name.startsWith("data-")) {
      const value = this.dataset[name.slice(5).replace(/-([a-z])/g, (_, letter) => letter.toUpperCase())];
      return value === undefined ? null : String(value);
    }
    if (name === "class") return this.className || null;
    const value = this.property(name);
    if (REFLECTED.has(name) && value !== undefined && value !== null && value !== false && value !== "") {
      return value === true ? "" : String(value);
    }
    return this.getAttribute(name);
  }
  /** Whether the element matches a selector list of compound selectors with descendant combinators. */
  matches(/** @type {string} */ selector) {
    return parseSelectors(selector).some((steps) => matchesSteps(this, steps));
  }
  /** @param {string} selector */
  querySelectorAll(selector) {
    return [...this.descendants()].filter((element) => element.matches(selector));
  }
  /** @param {string} selector */
  querySelector(selector) {
    return this.querySelectorAll(selector)[0] ?? null;
  }
  /**
   * Dispatch here, then, for a bubbling event, on each ancestor, the document and its window, as
   * the DOM does: listeners further up see the same `target`, and may cancel it or stop it.
   * @param {Event} event
   */
  dispatchEvent(event) {
    const result = super.dispatchEvent(event);
    if (!event.bubbles || event.cancelBubble) return result;
    /** @type {EventTarget[]} */
    const path = [];
    for (let at = this.parentElement; at; at = at.parentElement) path.push(at);
    if (this.isConnected) path.push(this.ownerDocument, this.ownerDocument.defaultView);
    for (const node of path) {
      const copy = new Event(event.type, { bubbles: true, cancelable: event.cancelable });
      // What a test put on the event (a drop's dataTransfer) goes along.
      Object.assign(copy, event);
      if ("detail" in event) Object.defineProperty(copy, "detail", { value: event.detail });
      Object.defineProperty(copy, "target", { value: this });
      EventTarget.prototype.dispatchEvent.call(node, copy);
      if (copy.defaultPrevented) event.preventDefault();
      if (copy.cancelBubble) break;
    }
    return !event.defaultPrevented;
  }
  focus() {
    this.ownerDocument.activeElement = this;
  }
  click() {
    this.dispatchEvent(new Event("click"));
  }
  load() {}
  /**
   * Every element below this one, depth first.
   * @returns {Generator<FakeElement>}
   */
  *descendants() {
    for (const child of this.children) {
      if (typeof child === "string") continue;
      yield child;
      yield* child.descendants();
    }
  }
  /** The first element below with this class (or tag, given as "tag"); throws when none. */
  find(/** @type {string} */ selector) {
    const found = this.findAll(selector)[0];
    if (!found) throw new Error(`The fake DOM finds no ${selector} in this ${this.tagName.toLowerCase()}.`);
    return found;
  }
  /** @param {string} selector */
  findAll(selector) {
    const [tag, className] = selector.includes(".") ? selector.split(".") : [selector, ""];
    return [...this.descendants()].filter(
      (element) => (!tag || element.tagName === tag.toUpperCase()) && (!className || element.classList.contains(className)),
    );
  }
}

/** Attributes read from the element's properties (a test sets `input.name = …`). */
const REFLECTED = new Set(["id", "name", "type", "value", "accept", "disabled", "hidden"]);

/**
 * "a b.c, [d=e]" → [[{tag: "A", …}, {tag: "B", classes: ["c"]}], [{attributes: [["d", "e"]]}]].
 * @param {string} text
 * @returns {SelectorStep[][]}
 */
function parseSelectors(text) {
  return text.split(",").map((one) =>
    one
      .trim()
      .split(/\s+/)
      .map((compound) => {
        /** @type {SelectorStep} */
        const step = { tag: "", id: "", classes: [], attributes: [] };
        const token = /^([a-zA-Z][\w-]*)|\.([\w-]+)|#([\w-]+)|\[([\w-]+)(?:=(?:"([^"]*)"|'([^']*)'|([^\]]*)))?\]/y;
        for (let at = 0; at < compound.length;) {
          token.lastIndex = at;
          const found = token.exec(compound);
          if (!found || found[0] === "") throw new Error(`The fake DOM cannot read the selector ${JSON.stringify(text)}.`);
          if (found[1]) step.tag = found[1].toUpperCase();
          else if (found[2]) step.classes.push(found[2]);
          else if (found[3]) step.id = found[3];
          else step.attributes.push([found[4], found[5] ?? found[6] ?? found[7]]);
          at = token.lastIndex;
        }
        return step;
      }),
  );
}

function matchesStep(/** @type {FakeElement} */ element, /** @type {SelectorStep} */ { tag, id, classes, attributes }) {
  return (
    (!tag || element.tagName === tag) &&
    (!id || element.id === id) &&
    classes.every((name) => element.classList.contains(name)) &&
    attributes.every(([name, value]) => {
      const actual = element.attributeValue(name);
      return value === undefined ? actual !== null : actual === value;
    })
  );
}

/** Whether `element` matches the last step, and some of its ancestors the others, in order. */
function matchesSteps(/** @type {FakeElement} */ element, /** @type {SelectorStep[]} */ steps) {
  if (!matchesStep(element, steps[steps.length - 1])) return false;
  let rest = steps.length - 2;
  for (let at = element.parentElement; at && rest >= 0; at = at.parentElement) {
    if (matchesStep(at, steps[rest])) rest -= 1;
  }
  return rest < 0;
}

/**
 * The fake document as tests see it: the DOM's Document for the code under test, with a body of
 * fake elements, what its canvases drew, and a window to dispatch on.
 * @typedef {Omit<Document, "body" | "createElement" | "activeElement"> & {
 *   body: FakeNode,
 *   activeElement: FakeNode | null,
 *   drawn: unknown[][],
 *   createElement<K extends keyof HTMLElementTagNameMap>(tag: K): HTMLElementTagNameMap[K] & FakeNode,
 * }} FakeDocumentView
 */

class FakeDocument extends EventTarget {
  constructor() {
    super();
    /** @type {FakeElement | null} */
    this.activeElement = null;
    /** @type {unknown[][]} */
    this.drawn = [];
    this.cookie = "";
    this.readyState = "complete";
    this.defaultView = new EventTarget();
    this.body = this.createElement("body");
  }
  /** @param {string} selector */
  querySelectorAll(selector) {
    return [this.body, ...this.body.descendants()].filter((element) => element.matches(selector));
  }
  /** @param {string} selector */
  querySelector(selector) {
    return this.querySelectorAll(selector)[0] ?? null;
  }
  /** @param {string} tag */
  createElement(tag) {
    const element = new FakeElement(this, tag);
    if (tag === "canvas") {
      element.property("getContext", () => ({ drawImage: (/** @type {unknown[]} */ ...args) => this.drawn.push(args) }));
      element.property("toDataURL", (/** @type {string} */ type) => `data:${type};base64,AAAA`);
    }
    return element;
  }
}

/**
 * A document whose elements are FakeElements; `canvas` elements draw into `drawn`. It is an event
 * target, with a window (`defaultView`, another one), a cookie and selectors over its body.
 * @returns {FakeDocumentView}
 */
export function fakeDocument() {
  // The one place the fake is taken for the DOM: the code under test only uses what it has.
  return /** @type {FakeDocumentView} */ (/** @type {unknown} */ (new FakeDocument()));
}

/**
 * Run frame callbacks at once (the views draw "on the next frame").
 * @param {() => void} callback
 */
export const now = (callback) => callback();

/** The visible buttons of a row, by their visible label ("Pause", "Retry"…). */
export const visibleButtons = (/** @type {FakeNode} */ row) =>
  row
    .findAll("button")
    .filter((button) => !button.hidden)
    .map((button) => button.ownText);
