// The participant's page (/meeting/{id}): where you stand first (sticky on a phone), every change to
// your own requests said once, alerts that reach you in another tab, "while you were away" after a
// gap, the floor, the transcript, the microphone while you hold the floor.
(() => {
"use strict";
const A = window.Assistant, {$, el} = A;
const me = A.tokenFromPage();
if (!me.token) location.replace(`/join/${A.meetingId}${location.search}${location.hash}`);
const auth = {Authorization: `Bearer ${me.token}`};
const KINDS = {point_of_order: "point of order", reply: "reply", intervention: "intervention"};
const page = {awayAfterS: 120};  // a gap this long (a drop, a hidden tab, a closed laptop) earns a digest
window.participantPage = page;

// -- the microphone while you hold the floor (remote participants) ----------------------------
let muted = false, micState = "off", micDetail = "";
function renderMic() {
  const live = $("#live"), on = micState === "live";
  // off: hidden, unless the audio is coming back within the turn (a line about an ended turn goes:
  // the status already says it)
  live.classList.toggle("hidden", micState === "off" && !(micDetail && mic.wanted));
  live.classList.toggle("on", on && !muted);
  live.classList.toggle("muted", on && muted);
  $("#livestate").textContent = on && muted ? "Muted: the hall does not hear you. Press Unmute to speak."
    : {starting: "Starting your microphone…", live: "You are live: the hall hears you and your words are transcribed.",
      blocked: "Your browser needs one click to start the microphone.", error: micDetail, off: micDetail}[micState];
  $("#micstart").classList.toggle("hidden", micState !== "blocked");
  $("#mute").classList.toggle("hidden", !on);
  $("#mute").setAttribute("aria-pressed", String(muted));
  $("#mute").textContent = muted ? "Unmute" : "Mute";
  if (!on) $("#level").value = 0;
}
const mic = new A.LiveMic(A.meetingId, me.token, (state, detail) => {
  if (state === "off") muted = false;
  micState = state; micDetail = detail || ""; renderMic();
});
mic.onLevel = (level) => { $("#level").value = muted ? 0 : level; };
$("#mute").addEventListener("click", () => { muted = !muted; mic.mute(muted); renderMic(); });
$("#micstart").addEventListener("click", () => mic.resume());

// -- alerts: a notification, a short sound and the tab title; the off switch is kept per device --
const alertsKey = "assistant:alerts";
const alertsOn = () => localStorage.getItem(alertsKey) !== "off";
$("#alerts").checked = alertsOn();
function askPermission() {
  if (alertsOn() && "Notification" in window && Notification.permission === "default") Notification.requestPermission().catch(() => {});
}
$("#alerts").addEventListener("change", (e) => { localStorage.setItem(alertsKey, e.target.checked ? "on" : "off"); askPermission(); });
page.notified = [];
function wake(message) {
  document.title = `● ${message}`;
  if (!alertsOn()) return;
  A.cue();
  if ("Notification" in window && Notification.permission === "granted") {
    try {
      const n = new Notification(message, {body: client.state.meeting.title, tag: `assistant-${A.meetingId}`, renotify: true});
      n.onclick = () => { window.focus(); n.close(); };
      page.notified.push(message);
    } catch (_) { /* a browser that only notifies from a service worker: the sound and the title remain */ }
  }
}

// -- where you stand ---------------------------------------------------------------------------
const mine = () => client.state.queue.filter((e) => e.participant_id === me.participant_id).sort((a, b) => a.position - b.position);
const holdsFloor = () => !!client.state.floor && client.state.floor.participant_id === me.participant_id;
function place(e, many) {
  const what = many || e.kind !== "intervention" ? ` (your ${KINDS[e.kind]})` : "";
  return e.position === 0 ? `You are next${what}: ${e.reason}.` : `You are number ${e.position + 1} on the list${what}: ${e.reason}.`;
}
function statusText() {
  const s = client.state, waiting = mine();
  if (s.meeting.ended) return "The meeting has ended.";
  if (holdsFloor()) return "You have the floor. Please speak now.";
  if (waiting.length) {
    const [first, ...more] = waiting;
    return place(first, more.length > 0) + more.map((e) => ` Also waiting: your ${KINDS[e.kind]}, number ${e.position + 1}.`).join("");
  }
  if (s.meeting.list_closed) return "The list of speakers is closed on this item; you can still raise a point of order or reply.";
  return "You are not on the list.";
}

// -- every change to your own requests, said once; a stale message goes -----------------------
let news = [], newsAt = null, newsSeq = null, lastStatus = "";
function sayOnce(text, at = null) {
  // the changes one command made (stored at the same moment) are said together; anything later replaces them
  news = at !== null && at === newsAt ? [...news, text].slice(-3) : [text];
  newsAt = at; newsSeq = client.seq;
  $("#news").textContent = news.join(" ");
}
// the texts of your own written interventions, kept on this device so that a reload does not lose them
const textsKey = `assistant:texts:${A.meetingId}`;
const ownTexts = () => JSON.parse(localStorage.getItem(textsKey) || "{}");
function keepText(requestId, text) {
  const all = ownTexts(); all[requestId] = text;
  localStorage.setItem(textsKey, JSON.stringify(Object.fromEntries(Object.entries(all).slice(-20))));
}
function restoreText(requestId) {
  // a withdrawn or dropped written intervention goes back into the box for the next ask
  const text = client.written(requestId) || ownTexts()[requestId], box = $("#ask").text;
  if (!text || box.value.trim()) return "";
  box.value = text;
  return " Your written text is back in the box for your next request.";
}
let hadFloor = false;
function tell(what, m) {
  const d = m.data, s = client.state, say = (text) => sayOnce(text, m.at);
  const req = d.request_id ? client.requests.get(d.request_id) : null;
  const ownRequest = req && req.participant_id === me.participant_id;
  const kind = req ? KINDS[req.kind] || "request" : "request";
  switch (what) {
    case "request_added":
      if (d.participant_id !== me.participant_id) break;
      if (d.text) keepText(d.request_id, d.text);
      say(`You are on the list with your ${KINDS[d.kind]}.`);
      break;
    case "request_moved": if (ownRequest) say(`The chair moved your ${kind} to number ${d.position + 1}.`); break;
    case "request_dropped": if (ownRequest) say(`Your ${kind} was taken off the list: ${d.reason}.${restoreText(d.request_id)}`); break;
    case "request_withdrawn":
      if (ownRequest) say(d.by && d.by !== me.participant_id ? `The chair withdrew your ${kind}.${restoreText(d.request_id)}` : `Your ${kind} is withdrawn.${restoreText(d.request_id)}`);
      break;
    case "floor_changed":
      if (d.participant_id === me.participant_id && d.resumed) say("You have the floor again after the point of order.");
      else if (d.participant_id === me.participant_id) say(d.kind ? `The chair gave you the floor for your ${KINDS[d.kind]}.` : "The chair gave you the floor.");
      else if (hadFloor) say("Your turn has ended.");
      break;
    case "list_closed": say(mine().length ? "The chair closed the list of speakers; you keep your place." : "The chair closed the list of speakers on this item."); break;
    case "list_opened": say("The list of speakers is open again."); break;
    case "item_changed": say(`The meeting moved on to item ${d.item + 1}: ${s.meeting.agenda[d.item] || ""}.`); break;
    case "meeting_ended": say("The meeting has ended."); break;
    case "meeting_rescheduled":
      if (d.starts_at) say(`The meeting was moved: it now starts ${new Date(d.starts_at).toLocaleString([], {weekday: "long", hour: "2-digit", minute: "2-digit"})} your time.`);
      break;
  }
}

// -- "while you were away" ---------------------------------------------------------------------
async function eventsSince(since) {
  // stored events after `since`, in pages of up to 1000 (a long absence: at most 20 pages)
  const out = [];
  for (let after = since, pages = 0; pages < 20; pages++) {
    const r = await fetch(`/api/meetings/${A.meetingId}/events?since=${after}&limit=1000`, {headers: auth});
    if (!r.ok) break;
    const got = await r.json();
    out.push(...got);
    if (got.length < 1000) break;
    after = got[got.length - 1].seq;
  }
  return out;
}
function summarise(events) {
  // items taken up, who spoke (with group, mode and duration), written interventions read or still
  // waiting, statements filed, what happened to your own requests; each at the transcript's point
  const s = client.state, texts = new Map(), out = {items: [], turns: [], written: [], statements: [], yours: []};
  const unanchored = [];
  const at = (entry) => { unanchored.push(entry); return entry; };
  let turn = null;
  const who = (pid) => client.participant(pid) || {name: "someone", group: "", mode: ""};
  for (const m of events) {
    const d = m.data;
    if (m.name === "segment") { for (const e of unanchored.splice(0)) e.segment = d.id; continue; }
    if (m.name === "request_added" && d.text) texts.set(d.request_id, {who: who(d.participant_id), text: d.text});
    if (m.name === "item_changed") out.items.push(at({item: d.item, at: m.at}));
    if (m.name === "floor_changed") {
      if (turn) turn.seconds = m.at - turn.started_at;
      turn = null;
      if (d.participant_id) {
        turn = at({who: who(d.participant_id), kind: d.kind, item: d.item, started_at: d.started_at || m.at, seconds: null});
        out.turns.push(turn);
        const w = texts.get(d.request_id) || (client.written(d.request_id) ? {who: who(d.participant_id), text: client.written(d.request_id)} : null);
        if (w) out.written.push(at({...w, read: true, at: m.at}));
      }
      if (d.participant_id === me.participant_id) out.yours.push(at({text: "You were given the floor.", at: m.at}));
    }
    if (m.name === "statement_filed") out.statements.push(at({who: who(d.participant_id), title: d.title, at: m.at}));
    const req = d && d.request_id ? client.requests.get(d.request_id) : null;
    if (req && req.participant_id === me.participant_id) {
      if (m.name === "request_dropped") out.yours.push(at({text: `Your ${KINDS[req.kind]} was taken off the list: ${d.reason}.`, at: m.at}));
      if (m.name === "request_moved") out.yours.push(at({text: `The chair moved your ${KINDS[req.kind]} to number ${d.position + 1}.`, at: m.at}));
      if (m.name === "request_withdrawn" && d.by !== me.participant_id) out.yours.push(at({text: `The chair withdrew your ${KINDS[req.kind]}.`, at: m.at}));
    }
  }
  if (turn) turn.running = true;
  for (const e of s.queue.filter((e) => e.written)) out.written.push({who: {name: e.name, group: e.group, mode: e.mode}, waiting: e.position + 1});
  return out;
}
function pointLink(entry, label) {
  // to the transcript at that point: the line on this page if it is still here, else the archive
  if (!entry.segment) return "";
  const a = el("a", {href: `/archive/${A.meetingId}#${entry.segment}`, class: "at"}, label);
  a.addEventListener("click", (e) => {
    const line = $(`#transcript [data-id="${CSS.escape(entry.segment)}"]`);
    if (!line) return;
    e.preventDefault();
    for (const n of document.querySelectorAll("#transcript .target")) n.classList.remove("target");
    line.classList.add("target"); line.scrollIntoView({block: "center"});
  });
  return a;
}
function list(items, render, more = 8) {
  const shown = items.slice(-more);
  const ul = el("ul", {}, ...shown.map((x) => el("li", {}, ...render(x))));
  if (items.length > shown.length) ul.prepend(el("li", {class: "muted"}, `and ${items.length - shown.length} earlier`));
  return ul;
}
const person = (w) => `${w.name}${w.group ? ` (${w.group}${w.mode ? `, ${w.mode}` : ""})` : ""}`;
function renderDigest(sum, awayS) {
  const s = client.state, f = client.floor(), body = [];
  const minutes = Math.max(1, Math.round(awayS / 60));
  body.push(el("p", {}, `You were away about ${minutes} minute${minutes === 1 ? "" : "s"}. Now: item ${s.meeting.current_item + 1}, ${s.meeting.agenda[s.meeting.current_item] || ""}; `,
    f ? `${f.name} has the floor.` : "nobody has the floor.", " ", statusText()));
  if (sum.items.length) body.push(el("h3", {}, "Items taken up"), list(sum.items, (x) => [`${x.item + 1}. ${s.meeting.agenda[x.item] || ""} at ${A.fmtTime(x.at)} `, pointLink(x, "transcript")]));
  if (sum.turns.length) {
    body.push(el("h3", {}, "Who spoke"), list(sum.turns, (t) => [el("span", {class: "who"}, person(t.who)),
      `: ${t.running ? "speaking now" : A.fmtDuration(t.seconds || 0)}${t.kind && t.kind !== "intervention" ? `, ${KINDS[t.kind]}` : ""}, item ${t.item + 1} `, pointLink(t, "transcript")]));
  }
  if (sum.written.length) {
    body.push(el("h3", {}, "Written interventions"), list(sum.written, (w) => w.read
      ? [`${person(w.who)}: read at ${A.fmtTime(w.at)} `, pointLink(w, "transcript")]
      : [`${person(w.who)}: still waiting, number ${w.waiting}`]));
  }
  if (sum.statements.length) body.push(el("h3", {}, "Statements filed"), list(sum.statements, (x) => [`“${x.title}” by ${x.who.name} `, pointLink(x, "transcript")]));
  if (sum.yours.length) body.push(el("h3", {}, "Your requests"), list(sum.yours, (x) => [`${x.text} `, pointLink(x, "transcript")]));
  if (!sum.items.length && !sum.turns.length && !sum.written.length && !sum.statements.length && !sum.yours.length) body.push(el("p", {}, "Nothing was decided and nobody took the floor."));
  $("#digestbody").replaceChildren(...body);
  $("#digest").classList.remove("hidden");
  $("#digest").focus({preventScroll: false});
}
let digesting = false;
async function digest(since, awayS) {
  if (digesting || since === null || since === undefined || !client.state) return;
  digesting = true;
  try {
    const events = await eventsSince(since);
    if (events.length) renderDigest(summarise(events), awayS);
  } finally { digesting = false; }
}
page.digest = digest;
$("#digestclose").addEventListener("click", () => { $("#digest").classList.add("hidden"); $("#askbtn").focus(); });
// what this device last saw, so a page opened again hours later knows where it left off
const seenKey = `assistant:seen:${A.meetingId}`;
let hiddenAt = null, hiddenSeq = null, savedAt = 0;
function remember() {
  if (document.visibilityState !== "visible" || !client.connected || Date.now() - savedAt < 2000) return;
  savedAt = Date.now();
  localStorage.setItem(seenKey, JSON.stringify({seq: client.seq, at: savedAt}));
}
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") { hiddenAt = Date.now(); hiddenSeq = client.seq; return; }
  if (hiddenAt === null) return;
  const away = (Date.now() - hiddenAt) / 1000, since = hiddenSeq;
  hiddenAt = null;
  if (away >= page.awayAfterS) digest(since, away);
});

// -- the page ----------------------------------------------------------------------------------
function renderStatus() {
  const s = client.state, waiting = mine(), floor = holdsFloor();
  const text = statusText();
  if (text !== lastStatus && lastStatus && newsSeq !== client.seq) { news = []; $("#news").textContent = ""; }  // stale
  lastStatus = text;
  $("#mine").textContent = text;
  $("#status").classList.toggle("next", !floor && waiting.length > 0 && waiting[0].position === 0);
  $("#status").classList.toggle("yours", floor);
  $("#askbtn").disabled = !!s.meeting.ended;
  $("#withdraw").disabled = waiting.length === 0;
  $("#withdraw").textContent = waiting.length > 1 ? "Withdraw…" : "Withdraw";
  if (waiting.length < 2) { $("#choices").classList.add("hidden"); $("#withdraw").setAttribute("aria-expanded", "false"); }
  $("#choices").replaceChildren(...waiting.map((e) => el("button", {type: "button", "data-request-id": e.request_id},
    `Withdraw your ${KINDS[e.kind]} (number ${e.position + 1})`)));
}
let wasNext = false;
function render(what, m) {
  const s = client.state;
  $("#title").textContent = `${s.meeting.title} · ${s.meeting.agenda[s.meeting.current_item] || ""}`;
  if (m && m.type === "event") tell(what, m);
  A.renderFloor(client, $("#floor")); A.renderQueue(client, $("#queue"), {me: me.participant_id});
  A.renderTranscript(client, $("#transcript"), what); A.renderCaption(client, $("#caption"));
  renderStatus();
  const q = s.queue, floor = holdsFloor();
  const next = !floor && q.length > 0 && q[0].participant_id === me.participant_id;
  const alert = $("#alert");
  alert.classList.toggle("hidden", !(next || floor));
  alert.classList.toggle("yours", floor);
  alert.textContent = floor ? "You have the floor. Please speak now." : next ? "You are next." : "";
  if (floor && !hadFloor) wake("You have the floor"); else if (next && !wasNext) wake("You are next");
  if (!floor && !next) document.title = s.meeting.title;
  wasNext = next; hadFloor = floor;
  const self = client.participant(me.participant_id);
  if (floor && self && self.mode === "remote") mic.start(); else mic.stop();
  remember();
}
function joinAgain() {
  // forget the refused token on this device and open the join form again (with the invite code
  // this device joined with, when it has it)
  localStorage.removeItem(A.storeKey);
  location.assign(`/join/${A.meetingId}${me.code ? `#code=${encodeURIComponent(me.code)}` : ""}`);
}
let first = true;
const client = new A.MeetingClient(me.token, (what, m) => {
  A.renderConnection(client);
  if (what === "rejected") {
    mic.stop();
    A.showRejected(client, me.code ? "Join again to take part, or ask the organisers for a new link." : "Ask the organisers for a new invitation link.",
      el("button", {type: "button", class: "primary", onclick: joinAgain}, "Join again"));
    return;
  }
  if (what === "back") { if (m.away_s >= page.awayAfterS) digest(m.since, m.away_s); return; }
  if (!client.state) return;
  if (what === "caption") { A.renderCaption(client, $("#caption")); return; }
  if (what === "heard") { A.renderTranscript(client, $("#transcript"), what); return; }
  if (what === "connection") return;
  render(what, m);
  if (what === "snapshot" && first) {
    first = false;
    const seen = JSON.parse(localStorage.getItem(seenKey) || "null");
    const away = seen ? (Date.now() - seen.at) / 1000 : 0;
    if (seen && away >= page.awayAfterS) digest(seen.seq, away);
  }
});
$("#tz").textContent = `times in ${A.timeZone}`;
A.whoAmI(me).then(() => client.connect()); A.setupAccessibility(); A.setupJump($("#transcript"));
window.meetingClient = client;

// -- asking, withdrawing, filing ---------------------------------------------------------------
$("#ask").addEventListener("submit", async (e) => {
  e.preventDefault();
  askPermission();  // asked once, when the participant first asks for the floor
  const f = Object.fromEntries(new FormData(e.target));
  const r = await client.send("request_floor", f);
  if (r.type === "ack") e.target.text.value = ""; else sayOnce(r.error);
});
async function withdraw(requestId) {
  const r = await client.send("withdraw", {request_id: requestId});
  if (r.type !== "ack") sayOnce(r.error);
  $("#choices").classList.add("hidden"); $("#withdraw").setAttribute("aria-expanded", "false");
}
$("#withdraw").addEventListener("click", () => {
  const waiting = mine();
  if (waiting.length === 1) { withdraw(waiting[0].request_id); return; }
  const open = $("#choices").classList.toggle("hidden") === false;
  $("#withdraw").setAttribute("aria-expanded", String(open));
  if (open) $("#choices button").focus();
});
$("#choices").addEventListener("click", (e) => { const b = e.target.closest("button"); if (b) withdraw(b.dataset.requestId); });
$("#statement").addEventListener("submit", async (e) => {
  e.preventDefault();
  const r = await client.send("file_statement", Object.fromEntries(new FormData(e.target)));
  $("#stmsg").textContent = r.type === "ack" ? "Filed for the record." : r.error;
  if (r.type === "ack") e.target.reset();
});
const hall = new A.HallListener(A.meetingId, me.token, (state) => {
  $("#listen").setAttribute("aria-pressed", state !== "off");
  $("#listen").textContent = {on: "Listening: stop", reconnecting: "Listening (reconnecting…)", off: "Listen to the hall"}[state];
});
window.hallListener = hall;
$("#listen").addEventListener("click", () => (hall.on ? hall.stop() : hall.start()));
})();
