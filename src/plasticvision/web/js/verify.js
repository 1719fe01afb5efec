// The "Check a file" panel: POST /verify, then the verdict in words (Content Credentials and watermark).
import { showMessage } from "./dom.js";

const CREDENTIALS = {
  valid: "valid, signed by a trusted certificate",
  untrusted: "intact, but the signer is not on a trust list",
  tampered: "tampered: the file changed after it was signed",
  none: "none",
  unsupported: "not readable for this format",
};

/** The rows of the verdict: [term, description] pairs. */
export function verdictRows(report) {
  const rows = [["Verdict", report.marked ? "Marked as AI-generated" : "No mark found"]];
  if (report.credentials) {
    const type = report.credentials.digital_source_type;
    rows.push(["Content Credentials", CREDENTIALS[report.credentials.state] ?? report.credentials.state]);
    if (type) rows.push(["Source type", type.split("/").pop()]);
    if (report.credentials.signer) rows.push(["Signed by", report.credentials.signer]);
  }
  const mark = report.watermark;
  const found = report.kind === "image"
    ? (mark.marked ? "found" : "not found")
    : `found in ${mark.frames_marked} of ${mark.frames_checked} frames`;
  rows.push(["Watermark", `${found} (score ${mark.best.score.toFixed(1)})`]);
  return rows;
}

export function bindVerify(form, { api }) {
  const message = form.querySelector(".message");
  const verdict = form.querySelector(".verdict");
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    verdict.hidden = true;
    showMessage(message, "Checking…");
    try {
      const response = await api.postForm(form.dataset.path, new FormData(form));
      const report = await response.json();
      verdict.replaceChildren(...verdictRows(report).flatMap(([term, text]) => {
        const dt = document.createElement("dt");
        const dd = document.createElement("dd");
        dt.textContent = term;
        dd.textContent = text;
        return [dt, dd];
      }));
      verdict.dataset.marked = String(report.marked);
      verdict.hidden = false;
      showMessage(message, "", "ok");
    } catch (error) {
      showMessage(message, error.message, "error");
    } finally {
      button.disabled = false;
    }
  });
}
