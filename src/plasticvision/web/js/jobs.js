// Progress of a server job (a video swap) from its Server-Sent Events at /jobs/{id}/events:
// "queued" (or "resuming" after a server restart), then "progress", then one final "done", "failed" or
// "cancelled", each carrying the job record.

import { randomId } from "./ids.js";

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 8000;
const UPDATES = ["queued", "resuming", "progress", "done"];
const FINAL = ["done", "failed", "cancelled"];

export function newJobId() {
  return `job-${randomId(12)}`;
}

/** {percent (0-100, or null while the total is unknown), text} for a job record. */
function describeProgress({ stage, frames_done: done, frames_total: total, fps, eta_s: eta, note }) {
  const percent = stage === "done" ? 100 : total ? Math.min(100, (100 * done) / total) : null;
  const parts = [stage];
  if (total) parts.push(`${done}/${total} frames`);
  if (fps) parts.push(`${fps.toFixed(1)} fps`);
  if (eta !== null && eta !== undefined) parts.push(`${Math.ceil(eta)} s left`);
  if (note) parts.push(note); // e.g. "resumed from frame 120"
  return { percent, text: parts.join(" · ") };
}

/**
 * Call onProgress(describeProgress(record)) for each event of the job until its final event or
 * until the returned stop function is called. The server answers 404 at once for a job whose
 * upload is still arriving; the stream is then opened again, less and less often.
 */
export function followJob(connection, jobId, onProgress) {
  let source = null;
  let timer = 0;
  let retries = 0;
  let finished = false;
  const stop = () => {
    finished = true;
    clearTimeout(timer);
    source.close();
  };
  const open = () => {
    source = new EventSource(connection.queryUrl(`/jobs/${encodeURIComponent(jobId)}/events`));
    for (const name of UPDATES) {
      source.addEventListener(name, (event) => onProgress(describeProgress(JSON.parse(event.data))));
    }
    for (const name of FINAL) source.addEventListener(name, stop);
    source.onerror = () => {
      if (finished || source.readyState !== EventSource.CLOSED) return;
      timer = setTimeout(open, Math.min(RETRY_FIRST_MS * 2 ** retries++, RETRY_MAX_MS));
    };
  };
  open();
  return stop;
}
