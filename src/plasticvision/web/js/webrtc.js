// The live stream over WebRTC (WHIP): the camera, stamped with each frame's capture time, goes to
// POST /whip on a sendrecv connection; the swapped video comes back on it and is drawn into the
// preview canvas without the stamp, whose time gives the latency end to end. Bitrates and packet
// loss come from getStats(). When ICE fails (UDP blocked), "failed" tells the page to use the WebSocket.
//
// Events: "status" ({state, text}), "frame" ({latencyMs}), "sent", "failed" (detail: reason).
import { drawStamp, elapsedMs, readStamp, STRIP_HEIGHT } from "./stamp.js";

const CONNECT_TIMEOUT_MS = 10_000;
const GATHER_TIMEOUT_MS = 2000;
const LINK = /<([^>]+)>\s*;\s*rel="ice-server"([^,]*)/g;

/** ICE servers from `Link: <turn:...>; rel="ice-server"; username=...; credential=...` headers. */
export function iceServersFrom(header) {
  const servers = [];
  for (const [, url, params] of (header ?? "").matchAll(LINK)) {
    const server = { urls: url };
    for (const [, name, value] of params.matchAll(/(\w[\w-]*)="([^"]*)"/g)) {
      if (name === "username" || name === "credential") server[name] = value;
    }
    servers.push(server);
  }
  return servers;
}

/** Whether the server has /whip (OPTIONS answers 204), and the ICE servers it names. */
export async function probeWebRTC(connection) {
  if (typeof RTCPeerConnection === "undefined") return { offered: false, iceServers: [] };
  try {
    const response = await fetch(connection.url("/whip"), { method: "OPTIONS", headers: connection.headers() });
    return { offered: response.ok, iceServers: iceServersFrom(response.headers.get("link")) };
  } catch {
    return { offered: false, iceServers: [] };
  }
}

function icePolicy() {
  return new URLSearchParams(location.search).get("ice") === "relay" ? "relay" : "all"; // tests: only TURN
}

export class WebRTCStream extends EventTarget {
  constructor(connection, preview) {
    super();
    this.connection = connection;
    this.preview = preview;
    this.peer = null;
    this.location = null;
    this.timer = 0;
    this.outbound = document.createElement("canvas");
    this.outboundContext = this.outbound.getContext("2d");
    this.remote = document.createElement("video");
    this.remote.muted = true;
    this.remote.playsInline = true;
    this.strip = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
    this.link = { sentBytes: 0, receivedBytes: 0, packetsLost: 0, packetsReceived: 0 };
    this.sending = { codec: "video", width: 0, height: 0 }; // what the browser's encoder sends now (getStats)
  }

  get active() {
    return this.peer !== null;
  }

  /** Connect: `camera` is the page's Camera, already running. */
  async start(camera, iceServers) {
    const { videoWidth: width, videoHeight: height } = camera.video;
    this.outbound.width = width;
    this.outbound.height = height + STRIP_HEIGHT;
    this.camera = camera;
    const track = this.outbound.captureStream(0).getVideoTracks()[0];
    track.contentHint = "motion"; // under pressure keep the frame rate, give up resolution
    this.track = track;
    this.setStatus("connecting", "Connecting (WebRTC)…");
    const peer = new RTCPeerConnection({ iceServers, iceTransportPolicy: icePolicy() });
    this.peer = peer;
    peer.addTransceiver(track, { direction: "sendrecv" });
    peer.ontrack = (event) => {
      if ("jitterBufferTarget" in event.receiver) event.receiver.jitterBufferTarget = 0; // live: play at once
      this.play(event.streams[0] ?? new MediaStream([event.track]));
    };
    peer.onconnectionstatechange = () => this.connectionChanged(peer);
    this.timer = setTimeout(() => this.fail("no connection within 10 s (UDP blocked?)"), CONNECT_TIMEOUT_MS);
    try {
      await peer.setLocalDescription(await peer.createOffer());
      await this.gathered(peer);
      const headers = { ...this.connection.headers(), "Content-Type": "application/sdp" };
      if (this.connection.apiKey) headers.Authorization = `Bearer ${this.connection.apiKey}`;
      const response = await fetch(this.connection.url("/whip"), { method: "POST", body: peer.localDescription.sdp, headers });
      if (response.status !== 201) {
        const body = await response.json().catch(() => ({}));
        throw new Error(body.detail ?? `the server answered ${response.status}`);
      }
      this.location = new URL(response.headers.get("location"), this.connection.baseUrl + "/").toString();
      await peer.setRemoteDescription({ type: "answer", sdp: await response.text() });
    } catch (error) {
      this.fail(error.message);
    }
  }

  /** Draw a camera frame with its capture time into the outgoing track. */
  send(captureMs) {
    if (!this.active) return;
    const video = this.camera.video;
    this.outboundContext.drawImage(video, 0, STRIP_HEIGHT, this.outbound.width, this.outbound.height - STRIP_HEIGHT);
    drawStamp(this.outboundContext, this.outbound.width, captureMs);
    this.track.requestFrame();
    this.dispatchEvent(new Event("sent"));
  }

  stop() {
    clearTimeout(this.timer);
    const { peer, location: resource } = this;
    this.peer = this.location = null;
    this.remote.srcObject = null;
    if (resource) {
      const headers = { ...this.connection.headers() };
      if (this.connection.apiKey) headers.Authorization = `Bearer ${this.connection.apiKey}`;
      fetch(resource, { method: "DELETE", headers }).catch(() => {});
    }
    peer?.close();
  }

  /** Non-trickle WHIP: the offer goes out with its candidates, so wait for them (briefly). */
  gathered(peer) {
    if (peer.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => peer.iceGatheringState === "complete" && resolve();
      peer.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, GATHER_TIMEOUT_MS);
    });
  }

  connectionChanged(peer) {
    if (peer !== this.peer) return;
    if (peer.connectionState === "connected") {
      clearTimeout(this.timer);
      this.setStatus("live", "Live (WebRTC)");
    } else if (peer.connectionState === "failed") {
      this.fail("the connection failed (UDP blocked?)");
    }
  }

  fail(reason) {
    if (!this.active) return;
    this.stop();
    this.dispatchEvent(new CustomEvent("failed", { detail: reason }));
  }

  play(stream) {
    this.remote.srcObject = stream;
    this.remote.play().catch(() => {});
    const next = () => {
      if (this.remote.srcObject !== stream) return;
      this.show();
      this.remote.requestVideoFrameCallback(next);
    };
    this.remote.requestVideoFrameCallback(next);
  }

  /** Draw the swapped frame without its strip, and read the strip's capture time. The browser may have
   * scaled the video down (CPU or bandwidth): the strip then has fewer rows, in proportion. */
  show() {
    const now = performance.now();
    const { videoWidth: width, videoHeight: fullHeight } = this.remote;
    const stripRows = Math.round((STRIP_HEIGHT * width) / this.outbound.width);
    const height = fullHeight - stripRows;
    if (height <= 0) return;
    if (this.preview.width !== width || this.preview.height !== height) {
      this.preview.width = width;
      this.preview.height = height;
    }
    this.preview.getContext("2d").drawImage(this.remote, 0, stripRows, width, height, 0, 0, width, height);
    const strip = this.strip.canvas;
    strip.width = this.outbound.width;
    strip.height = STRIP_HEIGHT;
    this.strip.drawImage(this.remote, 0, 0, width, stripRows, 0, 0, strip.width, STRIP_HEIGHT);
    const stamped = readStamp(this.strip.getImageData(0, 0, strip.width, STRIP_HEIGHT).data, strip.width);
    const latencyMs = stamped === null ? null : elapsedMs(now, stamped);
    this.dispatchEvent(new CustomEvent("frame", { detail: { latencyMs } }));
  }

  /** Bytes each way and packets lost so far, from the connection's RTP statistics. */
  async readLink() {
    if (!this.peer) return this.link;
    const report = await this.peer.getStats();
    const link = { sentBytes: 0, receivedBytes: 0, packetsLost: 0, packetsReceived: 0 };
    report.forEach((item) => {
      if (item.type === "outbound-rtp" && item.kind === "video") {
        link.sentBytes += item.bytesSent;
        const codec = report.get(item.codecId)?.mimeType?.replace("video/", "");
        this.sending = { codec: codec ?? "video", width: item.frameWidth ?? 0, height: item.frameHeight ?? 0 };
      }
      if (item.type === "inbound-rtp" && item.kind === "video") {
        link.receivedBytes += item.bytesReceived;
        link.packetsLost += item.packetsLost;
        link.packetsReceived += item.packetsReceived;
      }
    });
    this.link = link;
    return link;
  }

  setStatus(state, text) {
    this.dispatchEvent(new CustomEvent("status", { detail: { state, text } }));
  }
}
