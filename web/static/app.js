// The meeting client shared by the participant view, the chair console and the projector.
// It keeps the state the server sends (snapshot, then events by seq), reconnects with
// ?since= after a drop so nothing is missed or shown twice, and renders with textContent
// only: whatever a user typed is shown as text, never as markup.
(() => {
"use strict";

const $ = (sel) => document.querySelector(sel);
const meetingId = location.pathname.split("/")[2];
// one saved identity per kind of page: a projector link opened on the chair's laptop must not
// replace the chair's token; the join page and the participant view share one
const pageKind = {join: "participant", meeting: "participant"}[location.pathname.split("/")[1]] || location.pathname.split("/")[1];
const storeKey = `assistant:${pageKind}:${meetingId}`;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return node;
}

function tokenFromPage(key = storeKey) {
  // a token given once as #token= is kept on this device and taken out of the address bar
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("token")) {
    const saved = JSON.parse(localStorage.getItem(key) || "{}");
    if (saved.token !== hash.get("token")) localStorage.setItem(key, JSON.stringify({token: hash.get("token")}));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return JSON.parse(localStorage.getItem(key) || "{}");
}

function wsUrl(path, token) {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  return `${proto}://${location.host}${path}?token=${encodeURIComponent(token)}`;
}

async function whoAmI(me) {
  // a page opened from a link has only the token: ask whose it is, once, and remember
  if (!me.token || me.participant_id !== undefined) return me;
  const r = await fetch(`/api/meetings/${meetingId}/me`, {headers: {Authorization: `Bearer ${me.token}`}});
  if (!r.ok) return me;
  Object.assign(me, await r.json());
  localStorage.setItem(storeKey, JSON.stringify(me));
  return me;
}

async function tokenRefused(token) {
  // {status, reason} when the server refuses this token for this meeting; null when it accepts
  // it or cannot be reached (then reconnecting is right)
  let r;
  try {
    r = await fetch(`/api/meetings/${meetingId}/me`, {headers: {Authorization: `Bearer ${token}`}});
  } catch (_) { return null; }
  if (r.status === 401 || r.status === 403) return {status: r.status, reason: "this link is no longer valid"};
  if (r.status === 404) return {status: 404, reason: "this meeting does not exist"};
  return null;
}

function showRejected(client, what, ...action) {
  // one banner at the top of the page: what happened and what to do; nothing reconnects after it
  if ($("#rejected")) return;
  const text = client.rejected.status === 404 ? "This meeting does not exist (any more)." : `This link is no longer valid. ${what}`;
  document.body.prepend(el("div", {id: "rejected", class: "alert gone", role: "alert"}, text, " ", ...action));
}

function archiveHeaders() {
  // a private archive is read with a meeting token or the admin token, given once as #token=
  const {token} = tokenFromPage("assistant:archive");
  return token ? {Authorization: `Bearer ${token}`} : {};
}

async function runSearch(q, meeting, target, status) {
  const params = new URLSearchParams({q});
  if (meeting) params.set("meeting", meeting);
  status.textContent = "Searching…";
  const r = await fetch(`/api/search?${params}`, {headers: archiveHeaders()});
  const data = await r.json();
  if (!r.ok) { status.textContent = data.error; target.replaceChildren(); return; }
  status.textContent = data.hits.length ? `${data.hits.length} found, best first.` : "Nothing found.";
  target.replaceChildren(...data.hits.map((h) => el("li", {},
    el("a", {href: h.url}, meeting ? "" : `${h.meeting_title} · `, new Date((h.meeting_started + h.start) * 1000).toLocaleString()),
    " ", el("span", {class: "who"}, h.speaker_name || "—"), h.affiliation ? ` (${h.affiliation})` : "", ": ",
    el("span", {class: "snippet"}, ...h.highlights.map(([text, hit]) => hit ? el("mark", {}, text) : text)))));
}

const fmtTime = (unix) => new Date(unix * 1000).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});

class MeetingClient {
  // State as the server sends it: the snapshot, then stored events by seq (facts: who did what),
  // the derived queue as {"type": "queue"} after every change (latest value), live captions.
  constructor(token, onChange) {
    this.token = token; this.onChange = onChange;
    this.seq = null; this.state = null; this.caption = null; this.pending = new Map();
    this.heard = new Map();  // utterance_id -> a closed line as heard live, until its segments are stored
    this.nextId = 1; this.retry = 500; this.connected = false; this.closedFor = "";
    this.requests = new Map();  // request_id -> what request_added said (kind, text, participant, item)
    this.people = new Map();  // participant_id -> participant
    this.lostAt = null; this.seqAtLoss = null;
  }
  connect() {
    let url = wsUrl(`/api/meetings/${meetingId}/ws`, this.token);
    if (this.seq !== null) url += `&since=${this.seq}`;  // resume: only what was missed
    const ws = new WebSocket(url);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true; this.connected = true; this.retry = 500; this.onChange("connection");
      if (this.lostAt !== null) {  // back after a drop: say how long, and from which seq
        this.onChange("back", {since: this.seqAtLoss, away_s: (Date.now() - this.lostAt) / 1000});
        this.lostAt = null;
      }
    };
    ws.onmessage = (e) => this.receive(JSON.parse(e.data));
    ws.onclose = async (e) => {
      if (this.ws !== ws) return;
      if (this.connected && this.lostAt === null) { this.lostAt = Date.now(); this.seqAtLoss = this.seq; }
      this.connected = false;
      for (const done of this.pending.values()) done({type: "error", error: "connection lost; try again"});
      this.pending.clear();
      this.onChange("connection");
      // a socket refused before it opened (or closed by policy) may mean the token is no longer
      // valid: the websocket cannot say why, so ask once over HTTP, and stop if it is so
      if (!opened || e.code === 1008 || e.code === 4401 || e.code === 4403) {
        const why = await tokenRefused(this.token);
        if (this.ws !== ws) return;
        if (why) { this.closedFor = why.reason; this.rejected = why; this.onChange("rejected"); this.onChange("connection"); return; }
      }
      const wait = e.code === 4008 ? 0 : this.retry;  // cut off for lagging: come straight back with since=
      setTimeout(() => this.connect(), wait + Math.random() * 250);
      this.retry = Math.min(this.retry * 2, 10000);
    };
  }
  drop() { if (this.ws) this.ws.close(); }
  receive(m) {
    if (m.type === "snapshot") { this.load(m); this.onChange("snapshot"); return; }
    if (m.type === "event") {
      if (this.seq !== null && m.seq <= this.seq) return;  // already have it
      this.seq = m.seq; this.apply(m); this.onChange(m.name, m); return;
    }
    if (m.type === "queue") { if (this.state) { this.state.queue = m.queue; this.onChange("queue", m); } return; }
    if (m.type === "floor") { this.floorText(m.floor); return; }
    if (m.type === "caption") {
      const stored = m.stored && !m.text, c = this.caption;
      if (!stored) this.caption = m; else if (c && c.utterance_id === m.utterance_id) this.caption = null;
      const changed = this.hear(m, stored);
      this.onChange("caption", m);
      if (changed) this.onChange("heard", m);
      return;
    }
    if (m.type === "ack" || m.type === "error") {
      const done = this.pending.get(m.id); this.pending.delete(m.id);
      if (done) done(m);
    }
  }
  hear(m, stored) {
    // a closed line stays in view as heard live until the record stores it (20-40 s later); true if changed
    const id = m.utterance_id, text = m.committed || m.text, h = this.heard;
    if (!id || !this.state) return false;
    if (stored) return h.delete(id);
    if (!m.final || !text || this.state.transcript.slice(-100).some((t) => t.utterance_id === id)) return false;
    const f = this.state.floor;
    h.set(id, {...m, text, turn: f ? f.started_at : null});  // a later final caption updates it in place
    if (h.size > 50) h.delete(h.keys().next().value);  // a line may never be stored
    return true;
  }
  load(snap) {
    this.state = snap; this.seq = snap.seq;
    this.heard.clear();  // a snapshot carries stored lines only
    snap.turns ||= []; snap.statements ||= []; snap.queue ||= [];
    this.people = new Map(snap.participants.map((p) => [p.participant_id, p]));
    // the written texts this client may know: the chair's queue carries them, the floor its own
    for (const e of snap.queue) this.requests.set(e.request_id, {...this.requests.get(e.request_id), ...e});
    if (snap.floor && snap.floor.request_id) {
      const known = this.requests.get(snap.floor.request_id) || {};
      this.requests.set(snap.floor.request_id, {...known, request_id: snap.floor.request_id, participant_id: snap.floor.participant_id,
        kind: snap.floor.kind, text: snap.floor.text || known.text || ""});
    }
  }
  apply(m) {
    const s = this.state, d = m.data;
    switch (m.name) {
      case "participant_joined": s.participants.push(d); this.people.set(d.participant_id, d); break;
      case "request_added": this.requests.set(d.request_id, {...d, asked_at: m.at}); break;
      case "floor_changed": this.floorChanged(d, m.at); break;
      case "time_limit_changed":
        s.meeting.time_limit_s = d.seconds;
        if (s.floor) s.floor = {...s.floor, limit_s: d.seconds};
        break;
      case "segment": {
        // the stored line replaces the live one it stores (the same utterance_id; older servers: the same speaker)
        s.transcript.push(d);
        if (d.utterance_id) this.heard.delete(d.utterance_id);
        const c = this.caption;
        if (c && (d.utterance_id ? c.utterance_id === d.utterance_id : c.speaker_id === d.speaker_id)) this.caption = null;
        break;
      }
      case "segment_corrected": {
        const i = s.transcript.findIndex((t) => t.id === d.segment_id);
        if (i >= 0) s.transcript[i] = {...s.transcript[i], text: d.text, revisions: (s.transcript[i].revisions || 0) + 1};
        break;
      }
      case "statement_filed": s.statements.push({...d, filed_at: m.at}); break;
      case "item_changed": s.meeting.current_item = d.item; s.meeting.list_closed = false; break;
      case "list_closed": s.meeting.list_closed = true; break;
      case "list_opened": s.meeting.list_closed = false; break;
      case "meeting_rescheduled": Object.assign(s.meeting, {starts_at: d.starts_at, ends_at: d.ends_at, timezone: d.timezone}); break;
      case "meeting_ended": s.meeting.ended = m.at; break;
    }
  }
  floorChanged(d, at) {
    // the running turn ends, the next one (if anyone's) starts; the words of the previous speaker
    // go with them: a caption is never shown under the new speaker's name
    const s = this.state;
    const running = s.turns.find((t) => t.ended_at === null);
    if (running) running.ended_at = at;
    this.caption = null;
    const text = (this.requests.get(d.request_id) || {}).text || "";
    s.floor = d.participant_id ? {...d, text} : null;
    if (d.participant_id) {
      s.turns.push({participant_id: d.participant_id, request_id: d.request_id, kind: d.kind, item: d.item,
        started_at: d.started_at, ended_at: null});
    }
  }
  floorText(floor) {
    // a written intervention being read out: the server sends its text with the floor, right after
    // the floor_changed event (a page that joined after it was asked has seen no request_added for it)
    this.requests.set(floor.request_id, {...this.requests.get(floor.request_id), text: floor.text});
    const f = this.state && this.state.floor;
    if (f && f.request_id === floor.request_id && f.text !== floor.text) { this.state.floor = {...f, text: floor.text}; this.onChange("floor_text"); }
  }
  send(op, fields = {}) {
    return new Promise((resolve) => {
      if (!this.connected) { resolve({type: "error", error: "not connected; reconnecting…"}); return; }
      const id = String(this.nextId++);
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({op, id, ...fields}));
    });
  }
  participant(id) { return this.people.get(id); }
  floor() {
    // the floor with who holds it, looked up in the participants (floor_changed carries no names)
    const f = this.state.floor;
    if (!f) return null;
    const p = this.participant(f.participant_id) || {};
    return {...f, name: p.name ?? f.name ?? "", affiliation: p.affiliation ?? f.affiliation ?? "", group: p.group ?? f.group ?? "",
      mode: p.mode ?? f.mode ?? "", written: !!f.text};
  }
  written(requestId) { return (this.requests.get(requestId) || {}).text || ""; }
  speakingTime(item) {
    // floor time and turns on `item`, by stakeholder group and by onsite/remote (the running turn up to now)
    const now = Date.now() / 1000, out = {group: {}, mode: {}, turns: 0, total: 0};
    for (const t of this.state.turns) {
      if (t.item !== item) continue;
      const p = this.participant(t.participant_id); if (!p) continue;
      const secs = Math.max(0, (t.ended_at ?? now) - t.started_at);
      for (const [key, name] of [["group", p.group], ["mode", p.mode]]) {
        const row = (out[key][name] ||= {seconds: 0, turns: 0});
        row.seconds += secs; row.turns += 1;
      }
      out.turns += 1; out.total += secs;
    }
    return out;
  }
}

function renderConnection(client) {
  const node = $("#conn");
  if (!node) return;
  node.textContent = client.closedFor ? `disconnected: ${client.closedFor}` : client.connected ? "live" : "reconnecting…";
  node.className = "state " + (client.connected ? "live" : "down");
  document.body.classList.toggle("offline", !client.connected);
}

function renderFloor(client, target) {
  const f = client.floor();
  target.replaceChildren();
  if (!f) { target.append(el("span", {class: "nobody"}, client.state.meeting.ended ? "The meeting has ended." : "Nobody has the floor.")); return; }
  target.append(el("span", {class: "who"}, f.name), f.affiliation ? ` (${f.affiliation})` : "",
    el("span", {class: "badge"}, f.group), el("span", {class: `badge ${f.mode}`}, f.mode),
    f.kind && f.kind !== "intervention" ? el("span", {class: "badge"}, f.kind.replace(/_/g, " ")) : "", " ",
    el("span", {class: "countdown", role: "timer", "data-start": f.started_at, "data-limit": f.limit_s}));
  if (f.text) target.append(el("p", {class: "written", "aria-label": "Written intervention being read"}, f.text));
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

function renderQueue(client, target, {limit = Infinity, controls = null, me = null, texts = false} = {}) {
  // `texts`: show a written intervention in full (the chair's view); others see that there is one
  target.replaceChildren();
  const q = client.state.queue.slice(0, limit);
  if (!q.length) target.append(el("li", {class: "empty"}, client.state.meeting.list_closed ? "The list is closed." : "Nobody is waiting."));
  for (const e of q) {
    const li = el("li", {"data-request-id": e.request_id, class: e.participant_id === me ? "mine" : ""},
      el("span", {class: "who"}, e.name), e.affiliation ? ` (${e.affiliation})` : "",
      el("span", {class: "badge"}, e.group), el("span", {class: `badge ${e.mode}`}, e.mode),
      e.kind !== "intervention" ? el("span", {class: "badge kind"}, e.kind.replace(/_/g, " ")) : "",
      e.pinned ? el("span", {class: "badge"}, "moved by the chair") : "",
      e.written && !(texts && e.text) ? el("span", {class: "badge"}, "written") : "",
      " ", el("span", {class: "reason"}, e.reason));
    if (texts && e.text) li.append(el("div", {class: "written"}, e.text));
    if (controls) li.append(controls(e));
    target.append(li);
  }
}

function transcriptLine(client, s, focusable) {
  // focusable (the chair's lines, to correct them by keyboard) or plain text: never tabindex=-1
  const at = client.state.meeting.started + s.start;
  return el("p", {"data-id": s.id, class: "line", tabindex: focusable ? "0" : null, title: s.revisions ? "corrected" : null}, el("time", {class: "time", datetime: new Date(at * 1000).toISOString()}, fmtTime(at)), " ",
    el("span", {class: "who"}, s.speaker_name || "—"), s.affiliation ? el("span", {class: "aff"}, ` (${s.affiliation})`) : "", " ",
    el("span", {class: "said"}, s.text));
}

const HEARD = "as heard live; the record replaces it within about a minute";
function heardLine(client, c) {
  // a closed line not yet stored: muted, labelled, never focusable or correctable (no .line, no data-id)
  const aff = (client.participant(c.speaker_id) || {}).affiliation;
  return el("p", {class: "heard", "data-utterance": c.utterance_id, title: HEARD}, el("span", {class: "badge"}, "live"), " ",
    el("span", {class: "who"}, c.speaker_name || "—"), aff ? el("span", {class: "aff"}, ` (${aff})`) : "", " ", el("span", {class: "said"}, c.text));
}

function renderTranscript(client, target, what = "snapshot", filter = null) {
  const focusable = target.classList.contains("editable");
  // a new segment goes before the lines heard live; "heard" updates only those; anything else
  // redraws; a line id is never shown twice
  const follow = target.scrollHeight - target.scrollTop - target.clientHeight < 40;
  const keep = filter || (() => true);
  if (what === "segment") {
    const s = client.state.transcript[client.state.transcript.length - 1];
    if (keep(s) && !target.querySelector(`[data-id="${CSS.escape(s.id)}"]`)) target.insertBefore(transcriptLine(client, s, focusable), target.querySelector(".heard"));
  } else if (what !== "heard") {
    target.replaceChildren(...client.state.transcript.filter(keep).slice(-500).map((s) => transcriptLine(client, s, focusable)));
  }
  // the lines heard live, after the stored ones in the order heard: a node stays while its text does
  const want = [...client.heard.values()].filter(keep), ids = new Map(want.map((c) => [c.utterance_id, c]));
  for (const n of target.querySelectorAll(".heard")) {
    const c = ids.get(n.dataset.utterance);
    if (!c) n.remove(); else if (n.lastChild.textContent !== c.text) n.replaceWith(heardLine(client, c));
  }
  for (const c of want) if (!target.querySelector(`.heard[data-utterance="${CSS.escape(c.utterance_id)}"]`)) target.append(heardLine(client, c));
  while (target.childElementCount > 500) target.firstElementChild.remove();
  if (follow) target.scrollTop = target.scrollHeight;
  const jump = $("#jump");
  if (jump) jump.classList.toggle("hidden", follow);
}

function setupJump(target) {
  const jump = $("#jump");
  if (!jump) return;
  target.addEventListener("scroll", () => jump.classList.toggle("hidden", target.scrollHeight - target.scrollTop - target.clientHeight < 40));
  jump.addEventListener("click", () => { target.scrollTop = target.scrollHeight; jump.classList.add("hidden"); });
}

function renderCaption(client, target, {current = false} = {}) {
  // committed words as they will be stored, then the partial words that may still change, always
  // under the name of who said them; `current`: only words of whoever holds the floor now (the
  // projector: a previous speaker's words are never shown beside a new speaker's name)
  const floor = client.state.floor, holder = floor ? floor.participant_id : null;
  const ok = (speaker) => !current || !floor || speaker === holder;
  const c = client.caption && ok(client.caption.speaker_id) ? client.caption : null;
  if (!c || !(c.committed || c.partial || c.text)) {
    // none: the line heard last (in this turn, for `current`), else the last stored line
    const h = [...client.heard.values()].pop();
    if (h && ok(h.speaker_id) && (!current || !floor || h.turn === floor.started_at)) {
      target.replaceChildren(el("span", {class: "who"}, h.speaker_name ? `${h.speaker_name}: ` : ""), el("span", {class: "committed"}, h.text));
      return;
    }
    const last = client.state.transcript[client.state.transcript.length - 1];
    const recent = last && ok(last.speaker_id) && (!current || !floor || client.state.meeting.started + last.end >= floor.started_at);
    target.replaceChildren(...(recent ? [el("span", {class: "who"}, `${last.speaker_name || ""}: `), el("span", {}, last.text)] : []));
    return;
  }
  target.replaceChildren(el("span", {class: "who"}, c.speaker_name ? `${c.speaker_name}: ` : ""),
    el("span", {class: "committed"}, c.committed ?? c.text ?? ""), " ", el("span", {class: "partial"}, c.partial ?? ""));
}

function fmtDuration(secs) {
  const s = Math.round(secs);
  return s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.floor(s % 3600 / 60)} min` : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";

let cueAudio = null;  // one context for every cue: browsers allow only a few
function cue(message) {
  if (message) document.title = `● ${message}`;
  if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
  try {
    const ctx = (cueAudio ||= new AudioContext());
    ctx.resume().catch(() => {});
    const osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.frequency.value = 880; gain.gain.value = 0.1; osc.connect(gain).connect(ctx.destination);
    osc.start(); osc.stop(ctx.currentTime + 0.25);
  } catch (_) { /* no audio: the visual cue remains */ }
}

const displayKey = `assistant:display:${location.pathname.split("/")[1]}`;

function setupAccessibility() {
  const contrast = $("#contrast"), size = $("#capsize");
  const saved = JSON.parse(localStorage.getItem(displayKey) || "{}");
  if (saved.contrast) document.body.classList.add("contrast");
  if (saved.cap) { document.documentElement.style.setProperty("--cap", `${saved.cap}rem`); if (size) size.value = saved.cap; }
  const save = () => localStorage.setItem(displayKey, JSON.stringify({contrast: document.body.classList.contains("contrast"), cap: size ? size.value : saved.cap}));
  if (contrast) contrast.addEventListener("click", () => { document.body.classList.toggle("contrast"); contrast.setAttribute("aria-pressed", document.body.classList.contains("contrast")); save(); });
  if (size) size.addEventListener("input", () => { document.documentElement.style.setProperty("--cap", `${size.value}rem`); save(); });
}

window.Assistant = {$, el, meetingId, storeKey, tokenFromPage, MeetingClient, renderConnection, renderFloor,
  renderQueue, renderTranscript, whoAmI, tokenRefused, showRejected, archiveHeaders, runSearch, wsUrl, renderCaption, setupJump, cue, setupAccessibility, fmtTime, fmtDuration, timeZone};
})();
