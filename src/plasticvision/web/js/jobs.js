// Progress of a server job (a video swap) from its Server-Sent Events at /jobs/{id}/events:
// "queued", then "progress", then one final "done", "failed" or "cancelled", each carrying the job record.

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 8000;
const UPDATES = ["queued", "progress", "done"];
const FINAL = ["done", "failed", "cancelled"];

/** {percent (0-100, or null while the total is unknown), text} for a job record. */
function describeProgress({ stage, frames_done: done, frames_total: total, fps, eta_s: eta }) {
  const percent = stage === "done" ? 100 : total ? Math.min(100, (100 * done) / total) : null;
  const parts = [stage];
  if (total) parts.push(`${done}/${total} frames`);
  if (fps) parts.push(`${fps.toFixed(1)} fps`);
  if (eta !== null && eta !== undefined) parts.push(`${Math.ceil(eta)} s left`);
  return { percent, text: parts.join(" · ") };
}

/**
 * Follow a job that exists on the server (its POST answered) by its events: call
 * onProgress(describeProgress(record)) for each, and resolve with the job record of the final
 * event. A dropped stream is opened again, less and less often (it replays from the first event).
 */
export function followJob(connection, jobId, onProgress) {
  return new Promise((resolve) => {
    let source = null;
    let retries = 0;
    const open = () => {
      source = new EventSource(connection.queryUrl(`/jobs/${encodeURIComponent(jobId)}/events`));
      for (const name of UPDATES) {
        source.addEventListener(name, (event) => onProgress(describeProgress(JSON.parse(event.data))));
      }
      for (const name of FINAL) {
        source.addEventListener(name, (event) => {
          source.close();
          resolve(JSON.parse(event.data));
        });
      }
      source.onerror = () => {
        if (source.readyState !== EventSource.CLOSED) return;
        setTimeout(open, Math.min(RETRY_FIRST_MS * 2 ** retries++, RETRY_MAX_MS));
      };
    };
    open();
  });
}
