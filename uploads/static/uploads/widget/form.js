// @ts-check
// A form whose upload widgets are busy: while any of them holds it, its submit buttons are
// disabled, and a submit that comes anyway (Enter in a text field, a script's requestSubmit) is
// stopped and explained. So a form never quietly saves the value a field had before its upload.

/**
 * @typedef {object} FormGuard
 * @property {(holder: object, onBlocked: () => void) => void} hold keep the form from being
 *   submitted; `onBlocked` is called when someone tries anyway (to say why)
 * @property {(holder: object) => void} release
 * @property {() => boolean} held
 */

/** @type {WeakMap<HTMLFormElement, FormGuard>} */
const guards = new WeakMap();

/** Said by a disabled submit button (as its tooltip). */
const WHY = "Wait for the uploads to finish, or cancel them, before saving.";

/** Tell whether a form control submits its form (a <button> with no type does). */
function submits(/** @type {Element} */ control) {
  const type = (control.getAttribute("type") ?? /** @type {HTMLInputElement} */ (control).type ?? "").toLowerCase();
  if (control.tagName === "BUTTON") return type === "" || type === "submit";
  return type === "submit" || type === "image";
}

/**
 * The guard of `form`, the same for every widget in it.
 * @param {HTMLFormElement} form
 * @returns {FormGuard}
 */
export function formGuard(form) {
  const known = guards.get(form);
  if (known) return known;
  /** @type {Map<object, () => void>} */
  const holders = new Map();
  /**
   * Buttons this guard disabled, with the title each had: only they are enabled again (others stay
   * as their page set them).
   * @type {Map<HTMLButtonElement | HTMLInputElement, string | null>}
   */
  const disabled = new Map();

  function update() {
    if (holders.size) {
      const controls = /** @type {(HTMLButtonElement | HTMLInputElement)[]} */ ([...form.querySelectorAll("button, input")]);
      for (const control of controls) {
        if (!control.disabled && submits(control)) {
          disabled.set(control, control.getAttribute("title"));
          control.disabled = true;
          control.setAttribute("title", WHY);
        }
      }
      form.dataset.uploading = "true";
    } else {
      for (const [control, title] of disabled) {
        control.disabled = false;
        if (title === null) control.removeAttribute("title");
        else control.setAttribute("title", title);
      }
      disabled.clear();
      delete form.dataset.uploading;
    }
  }

  // Capturing, and stopping the others: nothing else hears of a submit that must not happen.
  form.addEventListener(
    "submit",
    (event) => {
      if (!holders.size) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      for (const onBlocked of holders.values()) onBlocked();
    },
    true,
  );

  /** @type {FormGuard} */
  const guard = {
    hold(holder, onBlocked) {
      const first = !holders.has(holder);
      holders.set(holder, onBlocked);
      if (first) update();
    },
    release(holder) {
      if (holders.delete(holder)) update();
    },
    held: () => holders.size > 0,
  };
  guards.set(form, guard);
  return guard;
}
