// The server panel: URL and API key (remembered), the session id, and the server's health line.
import { showMessage } from "./dom.js";

export class ServerPanel {
  constructor({ elements, connection, api }) {
    this.el = elements;
    this.connection = connection;
    this.api = api;
    elements.sessionId.textContent = connection.sessionId;
    this.fill();
    elements.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    elements.reset.addEventListener("click", () => {
      connection.reset();
      this.fill();
    });
  }

  fill() {
    this.el.url.value = this.connection.server;
    this.el.url.placeholder = this.connection.defaultServer || `same origin (${location.origin})`;
    this.el.apiKey.value = this.connection.apiKey;
  }

  save() {
    try {
      this.connection.save({ server: this.el.url.value, apiKey: this.el.apiKey.value });
    } catch (error) {
      showMessage(this.el.health, `Server URL: ${error.message}`, "error");
    }
  }

  /** GET / (always open): engine and hardware, or why the server cannot be reached. */
  async checkHealth() {
    showMessage(this.el.health, `Checking ${this.connection.baseUrl}…`);
    try {
      const health = await this.api.getJson("/");
      const engine = health.engine ?? "unknown engine";
      const device = health.gpu ? "GPU" : "CPU";
      const state = health.engine_ready === false ? "starting" : "ready";
      showMessage(this.el.health, `Server ${state} · ${engine} · ${device}`, "ok");
      return true;
    } catch (error) {
      showMessage(this.el.health, `Server: ${error.message}`, "error");
      return false;
    }
  }
}
