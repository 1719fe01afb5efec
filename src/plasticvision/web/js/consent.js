// The consent gate: nothing is uploaded or swapped until the user has ticked the box.
import { clearMessage, showMessage } from "./dom.js";
import { load, store } from "./storage.js";

const KEY = "plasticvision.consent";

export class Consent {
  constructor(checkbox, message) {
    this.checkbox = checkbox;
    this.message = message;
    checkbox.checked = load(KEY) === "yes";
    checkbox.addEventListener("change", () => this.remember());
    this.reflect();
  }

  get given() {
    return this.checkbox.checked;
  }

  /** True when consent is given; otherwise says why nothing happens and points at the box. */
  require() {
    if (this.given) return true;
    showMessage(this.message, "Please confirm consent before uploading or swapping faces.", "error");
    this.checkbox.focus();
    return false;
  }

  remember() {
    store(KEY, this.given ? "yes" : null);
    if (this.given) clearMessage(this.message);
    this.reflect();
  }

  reflect() {
    document.body.dataset.consent = this.given ? "given" : "missing";
  }
}
