// The server panel: URL and API key (remembered per server), the session, and the server's health line.
//
// A `?server=` link only proposes a server: the field shows it and the panel asks; the page keeps
// talking to the server it had until the user saves the proposal. Editing the URL clears the key
// field (or shows the key saved for that server), so one server's key is never sent to another.
import { showMessage } from "./dom.js";

/** What the page shows of a session id: enough to tell two apart, not enough to use one. */
export function shortSession(id) {
  return id ? `${id.slice(0, 6)}…` : "(none yet)";
}

export class ServerPanel {
  constructor({ elements, connection, api }) {
    this.el = elements;
    this.connection = connection;
    this.api = api;
    this.fill();
    if (connection.proposedServer) this.propose(connection.proposedServer);
    elements.url.addEventListener("input", () => this.showKeyFor(elements.url.value));
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
    this.showSession();
  }

  showSession() {
    this.el.sessionId.textContent = shortSession(this.connection.sessionId);
  }

  /** A link asked for another server: show it in the field, say so, and wait for the user to save it. */
  propose(server) {
    this.el.url.value = server;
    this.showKeyFor(server);
    const current = this.connection.server || location.origin;
    showMessage(
      this.el.proposal,
      `This link suggests the server ${server}. Nothing is sent to it unless you choose it: check the address, ` +
        `then Save and connect. Until then this page uses ${current}.`,
      "info",
    );
    this.el.proposal.hidden = false;
  }

  /** The key field shows the key saved for the server in the URL field, or nothing. */
  showKeyFor(server) {
    this.el.apiKey.value = this.connection.keyFor(server);
  }

  save() {
    try {
      this.connection.save({ server: this.el.url.value, apiKey: this.el.apiKey.value });
      this.el.proposal.hidden = true;
      this.showSession();
    } catch (error) {
      showMessage(this.el.health, `Server URL: ${error.message}`, "error");
    }
  }

  /** GET / (always open, sent without key or session): engine and hardware, or why the server cannot be reached. */
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
