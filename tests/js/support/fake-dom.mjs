// A small stand-in for the DOM, enough for the page's views (they build with createElement and
// append, never innerHTML): elements with classes, data attributes, hidden, text, focus and events.

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
  closest(tag) {
    for (let at = this; at; at = at.parentElement) if (at.tagName === tag.toUpperCase()) return at;
    return null;
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

/** A document whose elements are FakeElements; `canvas` elements draw into `drawn`. */
export function fakeDocument() {
  const doc = {
    activeElement: null,
    drawn: [],
    createElement(tag) {
      const element = new FakeElement(doc, tag);
      if (tag === "canvas") {
        element.getContext = () => ({ drawImage: (...args) => doc.drawn.push(args) });
        element.toDataURL = (type) => `data:${type};base64,AAAA`;
      }
      return element;
    },
  };
  doc.body = doc.createElement("body");
  return doc;
}

/** Run frame callbacks at once (the views draw "on the next frame"). */
export const now = (callback) => callback();

/** The visible buttons of a row, by their visible label ("Pause", "Retry"…). */
export const visibleButtons = (row) =>
  row.findAll("button").filter((button) => !button.hidden).map((button) => button.ownText);
