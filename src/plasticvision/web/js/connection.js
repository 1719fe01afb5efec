// Where the server is and who we are: server URL, API key and session id, kept in localStorage.
import { defaultServer } from "../config.js";
import { randomId } from "./ids.js";
import { load, store } from "./storage.js";

const KEYS = {
  session: "plasticvision.session",
  server: "plasticvision.server",
  apiKey: "plasticvision.apiKey",
};

function trimSlash(url) {
  return url.trim().replace(/\/+$/, "");
}

/** Fires "change" when the server URL or API key is saved. */
export class Connection extends EventTarget {
  constructor() {
    super();
    this.sessionId = load(KEYS.session) || randomId();
    store(KEYS.session, this.sessionId);
    const fromQuery = new URLSearchParams(location.search).get("server");
    this.defaultServer = trimSlash(fromQuery ?? defaultServer);
    this.server = trimSlash(load(KEYS.server) ?? this.defaultServer);
    this.apiKey = load(KEYS.apiKey) ?? "";
  }

  /** The server's origin (and path prefix, if any); the page's own origin when none is set. */
  get baseUrl() {
    return this.server || location.origin;
  }

  url(path, params = {}) {
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(params)) if (value) url.searchParams.set(name, value);
    return url.toString();
  }

  /** For WebSocket and EventSource, which cannot send headers: session and key go in the query. */
  queryUrl(path, { websocket = false } = {}) {
    const url = this.url(path, { session: this.sessionId, api_key: this.apiKey });
    return websocket ? url.replace(/^http/, "ws") : url;
  }

  headers() {
    const headers = { "X-Session-Id": this.sessionId };
    if (this.apiKey) headers["X-API-Key"] = this.apiKey;
    return headers;
  }

  save({ server, apiKey }) {
    const cleaned = trimSlash(server);
    if (cleaned && !["http:", "https:"].includes(new URL(cleaned).protocol)) {
      throw new Error(`expected an http:// or https:// URL, got ${cleaned}`);
    }
    this.server = cleaned;
    this.apiKey = apiKey.trim();
    store(KEYS.server, cleaned === this.defaultServer ? null : cleaned);
    store(KEYS.apiKey, this.apiKey);
    this.dispatchEvent(new Event("change"));
  }

  reset() {
    this.save({ server: this.defaultServer, apiKey: this.apiKey });
  }
}
