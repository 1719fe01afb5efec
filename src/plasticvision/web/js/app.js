// Entry point: builds the panels, wires them together and exposes test hooks on window.plasticvision.
import { Api } from "./api.js";
import { Connection } from "./connection.js";
import { Consent } from "./consent.js";
import { byId, clearMessage, showMessage } from "./dom.js";
import { FaceMapPanel } from "./facemap.js";
import { LivePanel } from "./live.js";
import { OutputView } from "./output_view.js";
import { Recorder } from "./record.js";
import { ServerPanel } from "./server.js";
import { SettingsPanel } from "./settings.js";
import { SourceFaces } from "./sources.js";
import { StreamClient } from "./stream.js";
import { bindTools } from "./tools.js";

const connection = new Connection();
const api = new Api(connection);
const stream = new StreamClient(connection);
const consent = new Consent(byId("consent"), byId("consent-message"));

const server = new ServerPanel({
  connection,
  api,
  elements: {
    form: byId("connection-form"),
    url: byId("server-url"),
    apiKey: byId("api-key"),
    reset: byId("server-reset"),
    sessionId: byId("session-id"),
    health: byId("server-health"),
    proposal: byId("server-proposal"),
  },
});

const sources = new SourceFaces({
  api,
  consent,
  elements: {
    input: byId("source-input"),
    dropZone: byId("drop-zone"),
    count: byId("source-count"),
    thumbnails: byId("thumbnails"),
    message: byId("source-message"),
  },
});

const settings = new SettingsPanel({ form: byId("settings-form"), message: byId("settings-message"), api, stream });

const live = new LivePanel({
  stream,
  consent,
  elements: {
    button: byId("start-camera"),
    camera: byId("camera"),
    preview: byId("preview"),
    stage: byId("preview").parentElement,
    status: byId("stream-status"),
    fps: byId("fps"),
    latency: byId("latency"),
    sent: byId("frames-sent"),
    received: byId("frames-received"),
    dropped: byId("frames-dropped"),
    level: byId("send-level"),
    link: byId("link-status"),
    message: byId("live-message"),
  },
});

new OutputView({ button: byId("pop-out"), preview: byId("preview") });
new Recorder({ button: byId("record"), preview: byId("preview"), link: byId("recording-link"), message: byId("live-message") });

const faceMap = new FaceMapPanel({
  api,
  consent,
  elements: {
    identityForm: byId("identity-form"),
    identityList: byId("identities"),
    image: byId("facemap-image"),
    video: byId("facemap-video"),
    cameraButton: byId("facemap-camera"),
    camera: byId("camera"),
    detectedList: byId("detected-people"),
    mappedList: byId("mapped-people"),
    clear: byId("facemap-clear"),
    message: byId("facemap-message"),
  },
});

bindTools({ image: byId("image-swap"), video: byId("video-swap"), detect: byId("detect") }, { api, consent, sources, faceMap });

/** Health first, then this session's faces and settings, which may need the API key. */
async function syncWithServer() {
  if (!(await server.checkHealth())) return;
  try {
    await connection.ensureSession();
    server.showSession();
    const status = await api.getJson("/status");
    sources.showServerCount(status.faces_loaded);
    settings.showModels(await api.getJson("/models"));
    settings.show(status.settings);
    await faceMap.refresh();
    clearMessage(settings.message);
  } catch (error) {
    showMessage(settings.message, `Could not read your session: ${error.message}`, "error");
  }
}

stream.addEventListener("status", (event) => {
  if (event.detail.state === "live") syncWithServer(); // a restarted server may have lost this session
});
connection.addEventListener("change", () => {
  stream.restart();
  syncWithServer();
});
syncWithServer();

window.plasticvision = {
  stats: live.stats,
  get sessionId() {
    return connection.sessionId; // a test hook: the page itself shows only the first characters
  },
};
