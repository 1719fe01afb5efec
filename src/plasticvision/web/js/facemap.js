// "Who becomes whom": named identities (name + photos), people picked from a detection on an image,
// a video frame or the camera, and the session's face map (person → identity), one click per person.
import { showMessage } from "./dom.js";

const THUMB = 72; // px, the detected faces' thumbnails
const VIDEO_FRAME_AT_S = 0.5;

/** A frame of a video file, as a PNG Blob: the browser decodes it, the server only sees the still. */
async function videoFrame(file) {
  const video = document.createElement("video");
  video.muted = true;
  video.preload = "auto";
  video.src = URL.createObjectURL(file);
  try {
    await new Promise((resolve, reject) => {
      video.onloadeddata = resolve;
      video.onerror = () => reject(new Error("this browser cannot decode that video"));
    });
    video.currentTime = Math.min(VIDEO_FRAME_AT_S, video.duration / 2 || 0);
    await new Promise((resolve) => (video.onseeked = resolve));
    return await snapshot(video, video.videoWidth, video.videoHeight);
  } finally {
    URL.revokeObjectURL(video.src);
  }
}

/** What an <img>, <video> or bitmap shows, as a PNG Blob. */
function snapshot(source, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").drawImage(source, 0, 0, width, height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

/** A face's box cut out of the picked frame, with some room around it, as a data URL. */
function faceThumbnail(bitmap, [x0, y0, x1, y1]) {
  const pad = (x1 - x0) * 0.25;
  const sx = Math.max(x0 - pad, 0);
  const sy = Math.max(y0 - pad, 0);
  const side = Math.min(x1 - x0 + 2 * pad, bitmap.width - sx, bitmap.height - sy);
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = THUMB;
  canvas.getContext("2d").drawImage(bitmap, sx, sy, side, side, 0, 0, THUMB, THUMB);
  return canvas.toDataURL("image/jpeg", 0.85);
}

function element(tag, { dataset = {}, ...props } = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  Object.assign(node.dataset, dataset);
  node.append(...children);
  return node;
}

export class FaceMapPanel {
  constructor({ api, consent, elements }) {
    this.api = api;
    this.consent = consent;
    this.el = elements;
    this.identities = [];
    this.people = [];
    this.detected = [];
    this.assigned = new Map(); // detected face id → the identity clicked for it

    elements.identityForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.addIdentity();
    });
    elements.image.addEventListener("change", () => this.pickFromFile(elements.image, (file) => file));
    elements.video.addEventListener("change", () => this.pickFromFile(elements.video, videoFrame));
    elements.cameraButton.addEventListener("click", () => this.pickFromCamera());
    elements.clear.addEventListener("click", () => this.run(() => this.send("DELETE", "/face-map"), "Face map cleared."));
  }

  /** True when the map has people: swaps then work without source faces. */
  get active() {
    return this.people.length > 0;
  }

  /** Re-reads the session's identities and face map from the server and shows them. */
  async refresh() {
    this.identities = (await this.api.getJson("/identities")).identities;
    this.people = (await this.api.getJson("/face-map")).people;
    this.render();
  }

  /** Runs one change, then re-reads identities and map; errors become the panel's message. */
  async run(change, done) {
    try {
      await change();
      await this.refresh();
      showMessage(this.el.message, done, "ok");
    } catch (error) {
      showMessage(this.el.message, error.message, "error");
    }
  }

  async send(method, path, form) {
    const response = await this.api.request(path, { method, body: form, headers: { Accept: "application/json" } });
    return response.json();
  }

  addIdentity() {
    if (!this.consent.require()) return;
    const form = new FormData(this.el.identityForm);
    const name = String(form.get("name") || "").trim();
    showMessage(this.el.message, `Preparing ${name}…`);
    this.run(async () => {
      await this.send("POST", "/identities", form);
      this.el.identityForm.reset();
    }, `Identity ${name} added.`);
  }

  async pickFromFile(input, toImage) {
    const [file] = input.files;
    input.value = "";
    if (!file) return;
    try {
      await this.pick(await toImage(file));
    } catch (error) {
      showMessage(this.el.message, error.message, "error");
    }
  }

  async pickFromCamera() {
    const camera = this.el.camera;
    if (!camera.videoWidth) {
      showMessage(this.el.message, "Start the camera first (Live panel).", "error");
      return;
    }
    await this.pick(await snapshot(camera, camera.videoWidth, camera.videoHeight));
  }

  /** Detects the faces of one picture and lists them, each with a button per identity. */
  async pick(image) {
    showMessage(this.el.message, "Finding people…");
    const form = new FormData();
    form.append("file", image, "frame.png");
    try {
      const { faces } = await this.send("POST", "/detect-faces?format=json", form);
      const bitmap = await createImageBitmap(image);
      this.detected = faces.map((face) => ({ ...face, thumbnail: faceThumbnail(bitmap, face.box) }));
      this.assigned.clear();
      this.render();
      const next = this.identities.length ? "click an identity under each person" : "add an identity first";
      showMessage(this.el.message, `${faces.length} person(s) found: ${next}.`, faces.length ? "ok" : "error");
    } catch (error) {
      showMessage(this.el.message, error.message, "error");
    }
  }

  assign(face, identity) {
    const form = new FormData();
    form.append("identity", identity);
    form.append("face_id", face.id);
    this.run(async () => {
      await this.send("POST", "/face-map", form);
      this.assigned.set(face.id, identity);
    }, `This person becomes ${identity}.`);
  }

  render() {
    const { identityList, detectedList, mappedList, clear } = this.el;
    identityList.replaceChildren(
      ...this.identities.map(({ name, photos }) => {
        const remove = element("button", { type: "button", textContent: "×", title: `Delete ${name}` });
        remove.setAttribute("aria-label", `Delete identity ${name}`);
        remove.addEventListener("click", () => this.run(() => this.send("DELETE", `/identities/${encodeURIComponent(name)}`), `${name} deleted.`));
        return element("li", { dataset: { identity: name } }, element("strong", { textContent: name }), ` ${photos} photo(s) `, remove);
      }),
    );
    detectedList.replaceChildren(
      ...this.detected.map((face) => {
        const buttons = this.identities.map(({ name }) => {
          const button = element("button", { type: "button", textContent: name, className: "assign" });
          button.setAttribute("aria-pressed", String(this.assigned.get(face.id) === name));
          button.addEventListener("click", () => this.assign(face, name));
          return button;
        });
        const picture = element("img", { src: face.thumbnail, alt: "a detected person", width: THUMB, height: THUMB });
        return element("li", { dataset: { faceId: face.id, box: face.box.join(",") } }, picture, element("div", {}, ...buttons));
      }),
    );
    mappedList.replaceChildren(
      ...this.people.map((person) => {
        const remove = element("button", { type: "button", textContent: "Remove" });
        remove.addEventListener("click", () => this.run(() => this.send("DELETE", `/face-map/${person.id}`), "Person removed from the map."));
        const picture = element("img", { src: person.thumbnail, alt: "a mapped person", width: 48, height: 48 });
        return element("li", { dataset: { personId: person.id, identity: person.identity } }, picture, " → ", element("strong", { textContent: person.identity }), remove);
      }),
    );
    clear.hidden = !this.people.length;
  }
}
