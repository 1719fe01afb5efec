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

export class Api {
  constructor(connection) {
    this.connection = connection;
  }

  async request(path, { method = "GET", body, headers = {}, cache = "default" } = {}) {
    let response;
    try {
      response = await fetch(this.connection.url(path), {
        method,
        body,
        cache,
        headers: { ...this.connection.headers(), ...headers },
      });
    } catch {
      throw new ApiError(`cannot reach the server at ${this.connection.baseUrl}`);
    }
    if (!response.ok) throw await errorFrom(response);
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
