// Progress of a server job (a video swap) from its Server-Sent Events at /jobs/{id}/events.

const RETRY_MS = 500;

export function newJobId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return "job-" + Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** {percent (0-100 or null), text} from one progress event: frames done, total, fps, ETA, stage. */
export function describeProgress(event) {
  const { done, total, fps, eta_s: eta, stage } = event;
  const percent = total ? Math.min(100, (100 * done) / total) : null;
  const parts = [stage];
  if (total) parts.push(`${done}/${total} frames`);
  if (fps) parts.push(`${fps.toFixed(1)} fps`);
  if (eta !== undefined && eta !== null) parts.push(`${Math.ceil(eta)} s left`);
  return { percent, text: parts.filter(Boolean).join(" · ") };
}

/**
 * Follow the job's events, calling onProgress with describeProgress(event), until the returned
 * stop function is called. The job may not exist yet when we start (its upload is still running),
 * so a closed stream is reopened until then.
 */
export function followJob(connection, jobId, onProgress) {
  let source = null;
  let timer = 0;
  let stopped = false;
  const open = () => {
    source = new EventSource(connection.queryUrl(`/jobs/${encodeURIComponent(jobId)}/events`));
    source.addEventListener("progress", (event) => onProgress(describeProgress(JSON.parse(event.data))));
    source.onerror = () => {
      if (stopped || source.readyState !== EventSource.CLOSED) return;
      timer = setTimeout(open, RETRY_MS);
    };
  };
  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    source.close();
  };
}
