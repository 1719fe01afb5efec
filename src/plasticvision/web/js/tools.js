// The image swap, video swap and face detection panels: a form in, a downloadable result out.
import { showMessage } from "./dom.js";
import { followJob } from "./jobs.js";

/** Shows a result Blob in the form's <figure> (an <img> or a <video>) with a download link. */
function showResult(form, blob) {
  const figure = form.querySelector(".result");
  const media = figure.querySelector("img, video");
  const link = figure.querySelector("a");
  URL.revokeObjectURL(media.src);
  media.src = link.href = URL.createObjectURL(blob);
  figure.hidden = false;
}

/** What the server says it did, from the headers of image answers ("" when it says nothing). */
function summary(response) {
  const found = response.headers.get("X-Faces-Found");
  const swapped = response.headers.get("X-Faces-Swapped");
  if (swapped !== null) return `${swapped} of ${found} face(s) swapped.`;
  if (found !== null) return `${found} face(s) found.`;
  return "";
}

class Tool {
  constructor(form, { api, consent, sources, faceMap }) {
    this.form = form;
    this.api = api;
    this.consent = consent;
    this.sources = sources;
    this.faceMap = faceMap;
    this.message = form.querySelector(".message");
    this.button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.run();
    });
  }

  /** Whether the form may be sent now; a swap needs consent and source faces (or a face map). */
  ready() {
    return this.consent.require() && (this.faceMap.active || this.sources.requireFiles(this.message));
  }

  /** The multipart body: the chosen target plus, for swaps, the session's source faces. */
  body() {
    const form = new FormData(this.form);
    this.sources.files.forEach((file) => form.append("source_files", file));
    return form;
  }

  async run() {
    if (!this.ready()) return;
    this.button.disabled = true;
    showMessage(this.message, "Working…");
    try {
      const response = await this.send(this.body());
      showResult(this.form, await response.blob());
      showMessage(this.message, summary(response), "ok");
    } catch (error) {
      showMessage(this.message, error.message, "error");
    } finally {
      this.button.disabled = false;
    }
  }

  send(body) {
    return this.api.postForm(this.form.dataset.path, body);
  }
}

class DetectTool extends Tool {
  ready() {
    return true; // detection draws boxes; nothing is swapped
  }

  body() {
    return new FormData(this.form);
  }
}

/**
 * Video swaps run as server jobs: the upload answers with the job (202) once the server has it,
 * the page follows its progress events, then fetches the result. Nothing is asked of the server
 * about a job before it exists (following while the upload still arrives met 404s).
 */
class VideoTool extends Tool {
  constructor(form, options) {
    super(form, options);
    this.progress = form.querySelector("progress");
    this.progressText = form.querySelector(".progress-text");
  }

  async send(body) {
    this.showProgress({ percent: null, text: "uploading" });
    this.progress.hidden = false;
    try {
      const job = await (await this.api.postForm(this.form.dataset.path, body)).json();
      const final = await followJob(this.api.connection, job.job_id, (progress) => this.showProgress(progress));
      if (final.state !== "done") throw new Error(final.error || `the video swap was ${final.state}`);
      this.progress.value = 100;
      return await this.api.request(`/jobs/${encodeURIComponent(job.job_id)}/result`);
    } catch (error) {
      this.progress.hidden = true;
      this.progressText.textContent = "";
      throw error;
    }
  }

  /** A null percent (total frames not known yet) shows an indeterminate bar. */
  showProgress({ percent, text }) {
    if (percent === null) this.progress.removeAttribute("value");
    else this.progress.value = percent;
    this.progressText.textContent = text;
  }
}

export function bindTools(forms, options) {
  new Tool(forms.image, options);
  new VideoTool(forms.video, options);
  new DetectTool(forms.detect, options);
}
