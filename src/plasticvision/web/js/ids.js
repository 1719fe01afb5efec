// Random ids for sessions and jobs: hex from crypto.getRandomValues, which, unlike
// crypto.randomUUID, also works on plain-http pages (a server on the local network).

export function randomId(bytes = 16) {
  const values = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(values, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
