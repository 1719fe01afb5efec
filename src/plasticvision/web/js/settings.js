// The settings panel: every change goes to the session (POST /settings) and to the live stream.
import { clearMessage, showMessage } from "./dom.js";

const SLIDER_DEBOUNCE_MS = 150;

export class SettingsPanel {
  constructor({ form, message, api, stream }) {
    this.form = form;
    this.message = message;
    this.api = api;
    this.stream = stream;
    this.applied = this.read();
    this.timer = 0;

    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("input", (event) => {
      const control = event.target;
      if (control.type !== "range") return;
      this.showValue(control);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.apply(control), SLIDER_DEBOUNCE_MS);
    });
    form.addEventListener("change", (event) => {
      if (event.target.type === "checkbox") this.apply(event.target);
    });
  }

  /** The form's values as the server's settings object. */
  read() {
    const settings = {};
    for (const control of this.form.elements) {
      if (control.type === "checkbox") settings[control.name] = control.checked;
      else if (control.type === "range") settings[control.name] = Number(control.value);
    }
    return settings;
  }

  /** Show the server's settings for this session (from GET /status, or after a refused change). */
  show(settings) {
    for (const [name, value] of Object.entries(settings ?? {})) {
      const control = this.form.elements.namedItem(name);
      if (!control) continue;
      if (control.type === "checkbox") control.checked = Boolean(value);
      else {
        control.value = value;
        this.showValue(control);
      }
    }
    this.applied = this.read();
  }

  showValue(control) {
    const output = this.form.querySelector(`output[for="${control.id}"]`);
    if (output) output.textContent = Number(control.value).toFixed(2);
  }

  async apply(control) {
    const change = { [control.name]: this.read()[control.name] };
    try {
      const reply = await this.api.postJson("/settings", change);
      this.applied = reply.settings; // not shown: the user may have moved a slider since
      this.stream.sendSettings(change);
      clearMessage(this.message);
    } catch (error) {
      this.show(this.applied); // back to what the server has
      showMessage(this.message, error.message, "error");
    }
  }
}
