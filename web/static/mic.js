// A remote participant's own voice while they hold the floor: microphone -> AudioWorklet
// (downsampled to 16 kHz) -> the meeting's audio websocket as PCM s16le. Started when the floor
// is given, stopped the moment it is not; the server refuses audio outside the turn anyway.
(() => {
"use strict";
class LiveMic {
  constructor(meetingId, token, onState) {
    this.meetingId = meetingId; this.token = token; this.onState = onState;
    this.state = "off"; this.sentBytes = 0;
  }
  set(state, detail = "") { this.state = state; this.onState(state, detail); }
  async start() {
    this.wanted = true;
    if (this.state !== "off") return;  // an error (a refused microphone) stays until the turn ends
    this.set("starting");
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({audio: {channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true}});
    } catch (err) {
      this.set("error", `The microphone is not available (${err.name}). You can still write your intervention.`);
      return;
    }
    this.ctx = new AudioContext();
    await this.ctx.audioWorklet.addModule("/static/mic-worklet.js");
    const source = this.ctx.createMediaStreamSource(this.stream);
    this.node = new AudioWorkletNode(this.ctx, "pcm16k", {processorOptions: {inputRate: this.ctx.sampleRate}});
    const silent = this.ctx.createGain(); silent.gain.value = 0;  // keeps the node pulled, plays nothing
    source.connect(this.node).connect(silent).connect(this.ctx.destination);
    this.node.port.onmessage = (e) => {
      this.onLevel && this.onLevel(e.data.level);
      if (this.ws && this.ws.readyState === WebSocket.OPEN && this.ws.bufferedAmount < 64000) {
        this.ws.send(e.data.pcm); this.sentBytes += e.data.pcm.byteLength;
      }
    };
    this.ws = new WebSocket(window.Assistant.wsUrl(`/api/meetings/${this.meetingId}/audio`, this.token));
    this.ws.binaryType = "arraybuffer";
    this.ws.onmessage = (e) => { const m = JSON.parse(e.data); if (m.type === "error") this.set("error", m.error); };
    this.ws.onclose = (e) => {
      if (this.state !== "live" && this.state !== "starting") return;
      if (e.code === 4003) { this.stop("Your turn has ended."); return; }
      // the network dropped mid-turn: come back while the turn lasts
      const wanted = this.wanted;
      this.release("The audio connection dropped; reconnecting…");
      if (wanted) setTimeout(() => { if (this.wanted) this.start(); }, 1000);
    };
    this.ws.onopen = async () => {
      if (this.ctx.state === "suspended") await this.ctx.resume().catch(() => {});
      this.set(this.ctx.state === "running" ? "live" : "blocked");
    };
  }
  async resume() { if (this.ctx) { await this.ctx.resume(); if (this.ctx.state === "running") this.set("live"); } }
  mute(on) { if (this.node) this.node.port.postMessage({mute: on}); }
  stop(detail = "") {
    this.wanted = false;
    this.release(detail);
  }
  release(detail) {
    if (this.state === "off") { if (detail) this.set("off", detail); return; }
    if (this.ws) { this.ws.onclose = null; this.ws.close(1000); }
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    if (this.ctx) this.ctx.close().catch(() => {});
    this.ws = this.stream = this.ctx = this.node = null;
    this.set("off", detail);
  }
}
// Listening to the hall (off by default: about 64 kbit/s): 8 kHz µ-law frames, decoded with a
// table and scheduled back to back 150 ms ahead, so small network jitter is not heard.
const MU = 255, TABLE = new Float32Array(256).map((_, b) => { const y = b / 127.5 - 1; return Math.sign(y) * Math.expm1(Math.abs(y) * Math.log1p(MU)) / MU; });
class HallListener {
  constructor(meetingId, token, onState) { this.meetingId = meetingId; this.token = token; this.onState = onState; this.frames = 0; }
  start() {
    this.on = true;
    this.ctx = this.ctx || new AudioContext();
    this.ctx.resume().catch(() => {});
    this.ws = new WebSocket(window.Assistant.wsUrl(`/api/meetings/${this.meetingId}/listen`, this.token));
    this.ws.binaryType = "arraybuffer";
    this.next = 0;
    this.ws.onopen = () => this.onState("on");
    this.ws.onmessage = (e) => this.play(new Uint8Array(e.data));
    this.ws.onclose = () => { if (this.on) { this.onState("reconnecting"); setTimeout(() => this.on && this.start(), 2000); } };
  }
  play(bytes) {
    this.frames += 1;
    const buf = this.ctx.createBuffer(1, bytes.length, 8000), ch = buf.getChannelData(0);
    for (let i = 0; i < bytes.length; i++) ch[i] = TABLE[bytes[i]];
    const src = this.ctx.createBufferSource(); src.buffer = buf; src.connect(this.ctx.destination);
    const now = this.ctx.currentTime;
    if (this.next < now + 0.05 || this.next > now + 1) this.next = now + 0.15;  // (re)start or catch up
    src.start(this.next); this.next += buf.duration;
  }
  stop() { this.on = false; if (this.ws) this.ws.close(1000); this.onState("off"); }
}
window.Assistant.LiveMic = LiveMic;
window.Assistant.HallListener = HallListener;
})();
