// REST calls to the server with the session and API key headers; errors become readable messages.

const JSON_HEADERS = { Accept: "application/json" };

/** `type` is the server's stable word for the refusal (see the HTTP API docs): branch on it, not on the message. */
class ApiError extends Error {
  constructor(message, status = 0, type = "") {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.type = type;
  }
}

/** The server answers {"detail": "...", "type": "..."}; plain FastAPI, {"detail": [{loc, msg}, ...]}. */
function describeDetail(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((item) => [item.loc?.slice(1).join("."), item.msg].filter(Boolean).join(": ")).join("; ");
  }
  return JSON.stringify(detail);
}

async function errorFrom(response) {
  let text = `${response.status} ${response.statusText}`.trim();
  let type = "";
  try {
    const body = await response.json();
    if (body?.detail !== undefined) text = describeDetail(body.detail);
    if (typeof body?.type === "string") type = body.type;
  } catch {
    /* not JSON (e.g. a proxy's page): keep the status line */
  }
  return new ApiError(text, response.status, type);
}

/** The server did not issue this session id (or no longer knows it): a new one may do. */
function refusedSession(error) {
  return [400, 403].includes(error.status) && /session/i.test(error.message) && !/api key/i.test(error.message);
}

export class Api {
  constructor(connection) {
    this.connection = connection;
  }

  /** `GET /` is the open health check: it carries neither key nor session, and needs no session. */
  async request(path, { method = "GET", body, headers = {}, cache = "default" } = {}, retried = false) {
    const open = path === "/";
    let response;
    try {
      if (!open) await this.connection.ensureSession();
      response = await fetch(this.connection.url(path), {
        method,
        body,
        cache,
        headers: { ...(open ? {} : this.connection.headers()), ...headers },
      });
    } catch (error) {
      if (error instanceof TypeError) throw new ApiError(`cannot reach the server at ${this.connection.baseUrl}`);
      throw new ApiError(error.message);
    }
    this.connection.adoptSession(response.headers.get("X-Session-Id"));
    if (!response.ok) {
      const refusal = await errorFrom(response);
      if (!retried && refusedSession(refusal)) {
        this.connection.forgetSession(); // expired, or from a server restarted with another secret
        return this.request(path, { method, body, headers, cache }, true);
      }
      throw refusal;
    }
    return response;
  }

  /** Never from the HTTP cache: state changes, and `/` also answers HTML to the page's own navigation. */
  async getJson(path) {
    return (await this.request(path, { headers: JSON_HEADERS, cache: "no-store" })).json();
  }

  async postJson(path, data) {
    const response = await this.request(path, {
      method: "POST",
      body: JSON.stringify(data),
      headers: { ...JSON_HEADERS, "Content-Type": "application/json" },
    });
    return response.json();
  }

  /** POST a multipart form; the caller reads the response as JSON or as a Blob. */
  async postForm(path, form, headers = {}) {
    return this.request(path, { method: "POST", body: form, headers });
  }
}
