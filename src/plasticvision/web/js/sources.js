// Source faces: 1-10 images by drag-and-drop or picker, uploaded to the session, shown as thumbnails.
import { showMessage } from "./dom.js";

const MAX_FILES = 10;

export class SourceFaces {
  constructor({ elements, api, consent }) {
    this.el = elements;
    this.api = api;
    this.consent = consent;
    this.files = []; // the last set the server accepted; image and video swaps send them again

    elements.input.addEventListener("change", () => {
      this.upload([...elements.input.files]);
      elements.input.value = ""; // choosing the same files again still fires "change"
    });
    const zone = elements.dropZone;
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("dragging");
      this.upload([...event.dataTransfer.files]);
    });
  }

  /** The count the server holds for this session: after a reload the thumbnails are gone but the
   * faces are not; after a server restart (or a long idle time) the faces are gone. */
  showServerCount(count) {
    this.el.count.textContent = count;
    if (count === 0 && this.files.length) {
      this.files = [];
      this.showThumbnails([]);
      const why = "The server no longer has your source faces (restarted or idle too long): upload them again.";
      showMessage(this.el.message, why, "error");
    }
  }

  async upload(files) {
    if (!files.length || !this.consent.require()) return;
    if (files.length > MAX_FILES) {
      showMessage(this.el.message, `Choose at most ${MAX_FILES} images (got ${files.length}).`, "error");
      return;
    }
    const form = new FormData();
    files.forEach((file) => form.append("files", file));
    showMessage(this.el.message, `Uploading ${files.length} image(s)…`);
    this.el.dropZone.setAttribute("aria-busy", "true");
    try {
      const reply = await (await this.api.postForm("/upload-source-faces", form)).json();
      this.files = files;
      this.el.count.textContent = reply.count;
      this.showThumbnails(files);
      showMessage(this.el.message, reply.message || `${reply.count} face(s) loaded.`, "ok");
    } catch (error) {
      showMessage(this.el.message, `Upload failed: ${error.message}`, "error");
    } finally {
      this.el.dropZone.removeAttribute("aria-busy");
    }
  }

  showThumbnails(files) {
    for (const image of this.el.thumbnails.querySelectorAll("img")) URL.revokeObjectURL(image.src);
    this.el.thumbnails.replaceChildren(
      ...files.map((file) => {
        const item = document.createElement("li");
        const image = document.createElement("img");
        image.src = URL.createObjectURL(file);
        image.alt = file.name;
        image.onerror = () => image.replaceWith(file.name); // e.g. HEIC or TIFF, which browsers cannot show
        item.append(image);
        return item;
      }),
    );
  }

  /** For swaps that need the source images themselves; false (with a message) when there are none. */
  requireFiles(message) {
    if (this.files.length) return true;
    showMessage(message, "Upload source faces first (Source faces panel).", "error");
    return false;
  }
}
