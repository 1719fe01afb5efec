// Where the server is and who we are there: server URL, and per server origin its API key and session id.
//
// The key and the session go only to the server the user chose in this page (or the one the page
// came with: same origin, or `plasticvision web --server`). A link's `?server=` only proposes one:
// it pre-fills the field and asks (see ServerPanel); nothing is sent to it until the user saves it.
// Keys and sessions are remembered per server origin, so a key typed for one server never goes to
// another. Session ids come from the server (POST /sessions): ids it did not issue are refused.
import { defaultServer } from "../config.js";
import { randomId } from "./ids.js";
import { load, store } from "./storage.js";

const KEYS = {
  server: "plasticvision.server",
  apiKey: (origin) => `plasticvision.apiKey@${origin}`,
  session: (origin) => `plasticvision.session@${origin}`,
};

function trimSlash(url) {
  return url.trim().replace(/\/+$/, "");
}

function checkedUrl(url) {
  if (url && !["http:", "https:"].includes(new URL(url).protocol)) {
    throw new Error(`expected an http:// or https:// URL, got ${url}`);
  }
  return url;
}

async function refusalText(response) {
  try {
    return `the server refused a session: ${(await response.json()).detail}`;
  } catch {
    return `the server refused a session (${response.status})`;
  }
}

/** Fires "change" when the server URL or API key is saved. */
export class Connection extends EventTarget {
  constructor() {
    super();
    this.defaultServer = trimSlash(defaultServer);
    this.server = trimSlash(load(KEYS.server) ?? this.defaultServer);
    const proposed = trimSlash(new URLSearchParams(location.search).get("server") ?? "");
    this.proposedServer = proposed && proposed !== this.server ? proposed : "";
    this.pendingSession = null;
    this.restore();
  }

  /** The server's origin (and path prefix, if any); the page's own origin when none is set. */
  get baseUrl() {
    return this.server || location.origin;
  }

  get origin() {
    return new URL(this.baseUrl).origin;
  }

  restore() {
    this.apiKey = load(KEYS.apiKey(this.origin)) ?? "";
    this.sessionId = load(KEYS.session(this.origin)) || "";
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
    const headers = {};
    if (this.sessionId) headers["X-Session-Id"] = this.sessionId;
    if (this.apiKey) headers["X-API-Key"] = this.apiKey;
    return headers;
  }

  /** A session issued by this server, asked for once; an older server without /sessions gets a random id. */
  ensureSession() {
    if (this.sessionId) return Promise.resolve(this.sessionId);
    this.pendingSession ??= this.requestSession().finally(() => {
      this.pendingSession = null;
    });
    return this.pendingSession;
  }

  async requestSession() {
    const asked = this.origin;
    const response = await fetch(this.url("/sessions"), { method: "POST", headers: this.headers() });
    let id = "";
    if (response.ok) id = (await response.json()).session_id;
    else if (response.status === 404) id = randomId();
    else throw new Error(await refusalText(response));
    if (asked === this.origin) this.adoptSession(id);
    return id;
  }

  /** Keep a session the server issued (POST /sessions, or X-Session-Id on a write that had none). */
  adoptSession(id) {
    if (!id || id === this.sessionId) return;
    this.sessionId = id;
    store(KEYS.session(this.origin), id);
  }

  /** The server no longer knows this session (or never issued it): the next call asks for a new one. */
  forgetSession() {
    this.sessionId = "";
    store(KEYS.session(this.origin), null);
  }

  save({ server, apiKey }) {
    const cleaned = checkedUrl(trimSlash(server));
    this.server = cleaned;
    this.proposedServer = "";
    store(KEYS.server, cleaned === this.defaultServer ? null : cleaned);
    const keyForThisServer = apiKey.trim();
    this.restore(); // this origin's own session (and key, replaced by what the field says)
    this.apiKey = keyForThisServer;
    store(KEYS.apiKey(this.origin), this.apiKey);
    this.dispatchEvent(new Event("change"));
  }

  /** The API key saved for the server at `url` ("" for none, or for a URL that does not parse). */
  keyFor(url) {
    let origin;
    try {
      origin = new URL(trimSlash(url) || location.origin).origin;
    } catch {
      return "";
    }
    return origin === this.origin ? this.apiKey : (load(KEYS.apiKey(origin)) ?? "");
  }

  reset() {
    this.save({ server: this.defaultServer, apiKey: this.keyFor(this.defaultServer) });
  }
}
