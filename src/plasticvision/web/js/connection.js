// Where the server is and who we are: server URL, API key and session id, kept in localStorage.
import { defaultServer } from "../config.js";

const KEYS = {
  session: "plasticvision.session",
  server: "plasticvision.server",
  apiKey: "plasticvision.apiKey",
};

function load(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage disabled (private mode, sandboxed frame): keep values for this page only
  }
}

function store(key, value) {
  try {
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  } catch {
    /* see load() */
  }
}

/** 32 hex characters; crypto.getRandomValues also works outside secure contexts, unlike randomUUID. */
function newSessionId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function trimSlash(url) {
  return url.trim().replace(/\/+$/, "");
}

/** Fires "change" when the server URL or API key is saved. */
export class Connection extends EventTarget {
  constructor() {
    super();
    this.sessionId = load(KEYS.session) || newSessionId();
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
    if (cleaned) new URL(cleaned); // throws a TypeError naming the bad URL
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
