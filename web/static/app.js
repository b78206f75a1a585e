// The meeting client shared by the participant view, the chair console and the projector.
// It keeps the state the server sends (snapshot, then events by seq), reconnects with
// ?since= after a drop so nothing is missed or shown twice, and renders with textContent
// only: whatever a user typed is shown as text, never as markup.
(() => {
"use strict";

const $ = (sel) => document.querySelector(sel);
const meetingId = location.pathname.split("/")[2];
const storeKey = `assistant:${meetingId}`;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return node;
}

function tokenFromPage() {
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("token")) {
    const saved = JSON.parse(localStorage.getItem(storeKey) || "{}");
    saved.token = hash.get("token");
    localStorage.setItem(storeKey, JSON.stringify(saved));
    history.replaceState(null, "", location.pathname);  // keep the token out of the address bar
  }
  return JSON.parse(localStorage.getItem(storeKey) || "{}");
}

const fmtTime = (unix) => new Date(unix * 1000).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});

class MeetingClient {
  constructor(token, onChange) {
    this.token = token; this.onChange = onChange;
    this.seq = null; this.state = null; this.caption = null; this.pending = new Map();
    this.nextId = 1; this.retry = 500; this.connected = false;
  }
  connect() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    let url = `${proto}://${location.host}/api/meetings/${meetingId}/ws?token=${encodeURIComponent(this.token)}`;
    if (this.seq !== null) url += `&since=${this.seq}`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => { this.connected = true; this.retry = 500; this.onChange("connection"); };
    ws.onmessage = (e) => this.receive(JSON.parse(e.data));
    ws.onclose = (e) => {
      this.connected = false; this.onChange("connection");
      if (e.code === 4401 || e.code === 1008) return;
      setTimeout(() => this.connect(), this.retry);
      this.retry = Math.min(this.retry * 2, 10000);
    };
  }
  receive(m) {
    if (m.type === "snapshot") { this.state = m; this.seq = m.seq; this.onChange("snapshot"); return; }
    if (m.type === "event") {
      if (this.seq !== null && m.seq <= this.seq) return;  // already have it
      this.seq = m.seq; this.apply(m); this.onChange(m.name, m); return;
    }
    if (m.type === "caption") { this.caption = m; this.onChange("caption", m); return; }
    if (m.type === "ack" || m.type === "error") {
      const done = this.pending.get(m.id); this.pending.delete(m.id);
      if (done) done(m);
    }
  }
  apply(m) {
    const s = this.state, d = m.data;
    switch (m.name) {
      case "queue_changed": s.queue = d.queue; break;
      case "floor_changed": s.floor = d.participant_id ? d : null; break;
      case "segment": s.transcript.push(d); if (this.caption && this.caption.speaker_id === d.speaker_id) this.caption = null; break;
      case "participant_joined": s.participants.push(d); break;
      case "statement_filed": (s.statements ||= []).push(d); break;
      case "item_changed": s.meeting.current_item = d.item; break;
      case "list_closed": s.meeting.list_closed = true; break;
      case "list_opened": s.meeting.list_closed = false; break;
      case "time_limit_set": s.meeting.time_limit_s = d.seconds; break;
      case "meeting_ended": s.meeting.ended = m.at; break;
    }
  }
  send(op, fields = {}) {
    return new Promise((resolve) => {
      if (!this.connected) { resolve({type: "error", error: "not connected; reconnecting…"}); return; }
      const id = String(this.nextId++);
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({op, id, ...fields}));
    });
  }
  participant(id) { return this.state.participants.find((p) => p.participant_id === id); }
}

function renderConnection(client) {
  const node = $("#conn");
  if (!node) return;
  node.textContent = client.connected ? "live" : "reconnecting…";
  node.className = "state " + (client.connected ? "live" : "down");
}

function renderFloor(client, target) {
  const f = client.state.floor;
  target.replaceChildren();
  if (!f) { target.append(el("span", {}, "Nobody has the floor.")); return; }
  target.append(el("span", {class: "who"}, f.name), f.affiliation ? ` (${f.affiliation})` : "",
    el("span", {class: "badge"}, f.group), el("span", {class: "badge"}, f.mode), " ",
    el("span", {class: "countdown", "data-start": f.started_at, "data-limit": f.limit_s}));
  if (f.text) target.append(el("p", {class: "written"}, f.text));
  tick();
}

function tick() {
  for (const node of document.querySelectorAll(".countdown")) {
    const start = Number(node.dataset.start), limit = Number(node.dataset.limit);
    const elapsed = Date.now() / 1000 - start;
    if (!limit) { node.textContent = `${Math.floor(elapsed / 60)}:${String(Math.floor(elapsed % 60)).padStart(2, "0")}`; continue; }
    const left = Math.round(limit - elapsed), abs = Math.abs(left);
    node.textContent = `${left < 0 ? "-" : ""}${Math.floor(abs / 60)}:${String(abs % 60).padStart(2, "0")}`;
    node.classList.toggle("over", left < 0);
  }
}
setInterval(tick, 1000);

function renderQueue(client, target, {limit = Infinity, controls = null} = {}) {
  target.replaceChildren();
  const q = client.state.queue.slice(0, limit);
  if (!q.length) target.append(el("li", {}, client.state.meeting.list_closed ? "The list is closed." : "Nobody is waiting."));
  for (const e of q) {
    const li = el("li", {}, el("span", {class: "who"}, e.name), e.affiliation ? ` (${e.affiliation})` : "",
      el("span", {class: "badge"}, e.group), el("span", {class: "badge"}, e.mode),
      e.kind !== "intervention" ? el("span", {class: "badge"}, e.kind.replace("_", " ")) : "",
      " ", el("span", {class: "reason"}, e.reason));
    if (e.text) li.append(el("div", {class: "written"}, e.text));
    if (controls) li.append(controls(e));
    target.append(li);
  }
}

function renderTranscript(client, target) {
  const follow = target.scrollHeight - target.scrollTop - target.clientHeight < 40;
  target.replaceChildren();
  for (const s of client.state.transcript.slice(-300)) {
    target.append(el("p", {}, el("span", {class: "time"}, fmtTime(client.state.meeting.started + s.start)), " ",
      el("span", {class: "who"}, s.speaker_name || "—"), s.affiliation ? ` (${s.affiliation})` : "", ": ", s.text));
  }
  if (follow) target.scrollTop = target.scrollHeight;
  const jump = $("#jump");
  if (jump) jump.classList.toggle("hidden", follow);
}

function renderCaption(client, target) {
  const c = client.caption;
  target.textContent = c && c.text ? `${c.speaker_name ? c.speaker_name + ": " : ""}${c.text}` : "";
}

function cue() {
  try {
    const ctx = new AudioContext(), osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.frequency.value = 880; gain.gain.value = 0.1; osc.connect(gain).connect(ctx.destination);
    osc.start(); osc.stop(ctx.currentTime + 0.25);
  } catch (_) { /* no audio: the visual cue remains */ }
}

function setupAccessibility() {
  const contrast = $("#contrast"), size = $("#capsize");
  if (contrast) contrast.addEventListener("click", () => document.body.classList.toggle("contrast"));
  if (size) size.addEventListener("input", () => document.documentElement.style.setProperty("--cap", `${size.value}rem`));
}

window.Assistant = {$, el, meetingId, storeKey, tokenFromPage, MeetingClient, renderConnection, renderFloor,
  renderQueue, renderTranscript, renderCaption, cue, setupAccessibility, fmtTime};
})();
