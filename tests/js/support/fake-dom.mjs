// A small stand-in for the DOM, enough for the page's views (they build with createElement and
// append, never innerHTML): elements with classes, data attributes, hidden, text, focus and events.
// For the form widgets also: simple CSS selectors (querySelector, matches, closest), events that
// bubble up to the document and its window, isConnected, before().

class FakeElement extends EventTarget {
  constructor(doc, tagName) {
    super();
    this.ownerDocument = doc;
    this.tagName = tagName.toUpperCase();
    this.children = [];
    this.parentElement = null;
    this.dataset = {};
    this.attributes = new Map();
    this.hidden = false;
    this.className = "";
    this.id = "";
    this.ownText = "";
  }
  get classList() {
    const names = () => this.className.split(/\s+/).filter(Boolean);
    return {
      contains: (name) => names().includes(name),
      add: (name) => (this.className = [...new Set([...names(), name])].join(" ")),
      remove: (name) => (this.className = names().filter((other) => other !== name).join(" ")),
    };
  }
  get textContent() {
    return this.ownText + this.children.map((child) => (typeof child === "string" ? child : child.textContent)).join("");
  }
  set textContent(text) {
    this.children = [];
    this.ownText = String(text);
  }
  append(...nodes) {
    for (const node of nodes) {
      if (typeof node !== "string") {
        node.parentElement?.children.splice(node.parentElement.children.indexOf(node), 1);
        node.parentElement = this;
      }
      this.children.push(node);
    }
  }
  replaceChildren(...nodes) {
    this.children = [];
    this.ownText = "";
    this.append(...nodes);
  }
  remove() {
    if (!this.parentElement) return;
    this.parentElement.children.splice(this.parentElement.children.indexOf(this), 1);
    this.parentElement = null;
  }
  setAttribute(name, value) {
    this.attributes.set(name, String(value));
  }
  getAttribute(name) {
    return this.attributes.get(name) ?? null;
  }
  removeAttribute(name) {
    this.attributes.delete(name);
    if (name === "src") this.src = "";
  }
  contains(node) {
    for (let at = node; at; at = at.parentElement) if (at === this) return true;
    return false;
  }
  closest(selector) {
    for (let at = this; at; at = at.parentElement) if (at.matches(selector)) return at;
    return null;
  }
  /** True once the element hangs from the document's body. */
  get isConnected() {
    let top = this;
    while (top.parentElement) top = top.parentElement;
    return top === this.ownerDocument.body;
  }
  /** Put `nodes` just before this element, in its parent. */
  before(...nodes) {
    const parent = this.parentElement;
    for (const node of nodes) {
      if (typeof node !== "string") {
        node.remove();
        node.parentElement = parent;
      }
      parent.children.splice(parent.children.indexOf(this), 0, node);
    }
  }
  /** An attribute as a selector reads it: data-* from dataset, reflected ones from properties. */
  attributeValue(name) {
    if (name.startsWith("data-")) {
      const value = this.dataset[name.slice(5).replace(/-([a-z])/g, (_, letter) => letter.toUpperCase())];
      return value === undefined ? null : String(value);
    }
    if (name === "class") return this.className || null;
    if (REFLECTED.has(name) && this[name] !== undefined && this[name] !== null && this[name] !== false && this[name] !== "") {
      return this[name] === true ? "" : String(this[name]);
    }
    return this.getAttribute(name);
  }
  /** Whether the element matches a selector list of compound selectors with descendant combinators. */
  matches(selector) {
    return parseSelectors(selector).some((steps) => matchesSteps(this, steps));
  }
  querySelectorAll(selector) {
    return [...this.descendants()].filter((element) => element.matches(selector));
  }
  querySelector(selector) {
    return this.querySelectorAll(selector)[0] ?? null;
  }
  /**
   * Dispatch here, then, for a bubbling event, on each ancestor, the document and its window, as
   * the DOM does: listeners further up see the same `target`, and may cancel it or stop it.
   */
  dispatchEvent(event) {
    const result = super.dispatchEvent(event);
    if (!event.bubbles || event.cancelBubble) return result;
    const path = [];
    for (let at = this.parentElement; at; at = at.parentElement) path.push(at);
    if (this.isConnected) path.push(this.ownerDocument, this.ownerDocument.defaultView);
    for (const node of path) {
      const copy = new Event(event.type, { bubbles: true, cancelable: event.cancelable });
      for (const key of Object.keys(event)) copy[key] = event[key];
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
  /** Every element below this one, depth first. */
  *descendants() {
    for (const child of this.children) {
      if (typeof child === "string") continue;
      yield child;
      yield* child.descendants();
    }
  }
  /** The first element below with this class (or tag, given as "tag"). */
  find(selector) {
    return this.findAll(selector)[0] ?? null;
  }
  findAll(selector) {
    const [tag, className] = selector.includes(".") ? selector.split(".") : [selector, ""];
    return [...this.descendants()].filter(
      (element) => (!tag || element.tagName === tag.toUpperCase()) && (!className || element.classList.contains(className)),
    );
  }
}

/** Attributes read from the element's properties (a test sets `input.name = …`). */
const REFLECTED = new Set(["id", "name", "type", "value", "accept", "disabled", "hidden"]);

/** "a b.c, [d=e]" → [[{tag: "a", …}, {tag: "b", classes: ["c"]}], [{attributes: [["d", "e"]]}]]. */
function parseSelectors(text) {
  return text.split(",").map((one) =>
    one.trim().split(/\s+/).map((compound) => {
      const step = { tag: "", id: "", classes: [], attributes: [] };
      const token = /^([a-zA-Z][\w-]*)|\.([\w-]+)|#([\w-]+)|\[([\w-]+)(?:=(?:"([^"]*)"|'([^']*)'|([^\]]*)))?\]/y;
      for (let at = 0; at < compound.length; ) {
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

function matchesStep(element, { tag, id, classes, attributes }) {
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
function matchesSteps(element, steps) {
  if (!matchesStep(element, steps.at(-1))) return false;
  let rest = steps.length - 2;
  for (let at = element.parentElement; at && rest >= 0; at = at.parentElement) {
    if (matchesStep(at, steps[rest])) rest -= 1;
  }
  return rest < 0;
}

/**
 * A document whose elements are FakeElements; `canvas` elements draw into `drawn`. It is an event
 * target, with a window (`defaultView`, another one), a cookie and selectors over its body.
 */
export function fakeDocument() {
  const doc = Object.assign(new EventTarget(), {
    activeElement: null,
    drawn: [],
    cookie: "",
    readyState: "complete",
    defaultView: new EventTarget(),
    querySelectorAll: (selector) => [doc.body, ...doc.body.descendants()].filter((element) => element.matches(selector)),
    querySelector: (selector) => doc.querySelectorAll(selector)[0] ?? null,
    createElement(tag) {
      const element = new FakeElement(doc, tag);
      if (tag === "canvas") {
        element.getContext = () => ({ drawImage: (...args) => doc.drawn.push(args) });
        element.toDataURL = (type) => `data:${type};base64,AAAA`;
      }
      return element;
    },
  });
  doc.body = doc.createElement("body");
  return doc;
}

/** Run frame callbacks at once (the views draw "on the next frame"). */
export const now = (callback) => callback();

/** The visible buttons of a row, by their visible label ("Pause", "Retry"…). */
export const visibleButtons = (row) =>
  row.findAll("button").filter((button) => !button.hidden).map((button) => button.ownText);
