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
      const control = event.target;
      if (control.type === "checkbox" || control.tagName === "SELECT") this.apply(control);
    });
  }

  /** The form's values as the server's settings object: switches, sliders, model pickers (""
   * = the server's default, sent as null) and checkbox groups (`data-list`) as lists. */
  read() {
    const settings = {};
    for (const control of this.form.elements) {
      const list = control.dataset?.list;
      if (list) {
        settings[list] ??= [];
        if (control.checked) settings[list].push(control.value);
      } else if (control.type === "checkbox") settings[control.name] = control.checked;
      else if (control.type === "range") settings[control.name] = Number(control.value);
      else if (control.tagName === "SELECT") settings[control.name] = control.value || null;
    }
    return settings;
  }

  /** Show the server's settings for this session (from GET /status, or after a refused change). */
  show(settings) {
    for (const [name, value] of Object.entries(settings ?? {})) {
      const group = this.form.querySelectorAll(`[data-list="${name}"]`);
      for (const box of group) box.checked = value.includes(box.value);
      const control = this.form.elements.namedItem(name);
      if (!control || group.length) continue;
      if (control.type === "checkbox") control.checked = Boolean(value);
      else if (control.tagName === "SELECT") control.value = value ?? "";
      else {
        control.value = value;
        this.showValue(control);
      }
    }
    this.applied = this.read();
  }

  /** Fill the model pickers from GET /models: every catalog model listed, only those present selectable. */
  showModels(listing) {
    const choices = listing.choices ?? {};
    const pickers = [["swapper", "swapper", choices.swappers, choices.default_swapper],
      ["enhancer", "enhancer", choices.enhancers, choices.default_enhancer]];
    for (const [name, role, present = [], fallback] of pickers) {
      const select = this.form.elements.namedItem(name);
      const chosen = select.value;
      select.replaceChildren(new Option(fallback ? `server default (${fallback})` : "server default", ""));
      for (const model of listing.roles?.[role] ?? []) {
        const option = new Option(present.includes(model.name) ? model.name : `${model.name} (${model.status})`, model.name);
        option.disabled = !present.includes(model.name);
        select.add(option);
      }
      select.value = chosen;
      select.disabled = present.length === 0;
    }
    const region = this.form.querySelector('[data-list="face_masks"][value="region"]');
    region.disabled = !choices.parser && !region.checked;
    region.title = choices.parser ? `face parser ${choices.parser}` : "needs a face parser (bisenet_resnet_34)";
  }

  showValue(control) {
    const output = this.form.querySelector(`output[for="${control.id}"]`);
    if (output) output.textContent = Number(control.value).toFixed(2);
  }

  async apply(control) {
    const name = control.dataset.list || control.name;
    const change = { [name]: this.read()[name] };
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
