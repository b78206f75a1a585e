// The chair console (/chair/{id}): give the floor, end turns, move entries, the list, the agenda, corrections.
(() => {
"use strict";
const A = window.Assistant, {$, el} = A;
const me = A.tokenFromPage();
const say = (r) => { $("#msg").textContent = r.type === "error" ? r.error : ""; };
const tell = (text) => { $("#msg").textContent = text; };  // a confirmation of what was just done
const ENDED = "The meeting has ended. Corrections to the transcript remain possible.";
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const limitText = (s) => (s ? `${s % 60 ? `${s} s` : plural(s / 60, "minute")} per turn` : "no time limit");
$("#tz").textContent = `times in ${A.timeZone}`;
function entryControls(e) {
  return el("span", {class: "controls"}, " ",
    el("button", {type: "button", onclick: () => client.send("give_floor", {request_id: e.request_id}).then(say)}, "Give floor"), " ",
    el("button", {type: "button", "aria-label": `Move ${e.name} up`, disabled: e.position === 0 ? "" : null, onclick: () => client.send("move", {request_id: e.request_id, position: Math.max(0, e.position - 1)}).then(say)}, "↑"), " ",
    el("button", {type: "button", "aria-label": `Move ${e.name} down`, onclick: () => client.send("move", {request_id: e.request_id, position: e.position + 1}).then(say)}, "↓"));
}
function bar(share) {
  // a width set through the CSSOM, which the page's CSP allows (a style attribute it does not)
  const node = el("span", {class: "bar"}); node.style.width = `${share}%`; return node;
}
function renderStats() {
  // floor time and turns on the current item, by stakeholder group and by onsite/remote
  const t = client.speakingTime(client.state.meeting.current_item), rows = [];
  rows.push(el("tr", {}, el("th", {}, "by"), el("th", {}, "time"), el("th", {}, "turns"), el("th", {}, "share")));
  for (const key of ["mode", "group"]) {
    for (const [name, v] of Object.entries(t[key]).sort((a, b) => b[1].seconds - a[1].seconds)) {
      const share = t.total ? Math.round(100 * v.seconds / t.total) : 0;
      rows.push(el("tr", {"data-key": `${key}:${name}`}, el("td", {}, name), el("td", {}, A.fmtDuration(v.seconds)), el("td", {}, v.turns),
        el("td", {}, bar(share), ` ${share}%`)));
    }
  }
  if (!t.turns) rows.push(el("tr", {}, el("td", {colspan: "4"}, "Nobody has spoken on this item yet.")));
  $("#stats").replaceChildren(...rows);
}
// The figures the chair's report opens with (GET /equity, core/equity.py: the same function), for the
// meeting so far: share of the room against share of speaking time, by group and onsite/remote.
let fairAsked = 0;
async function renderFairness() {
  const asked = ++fairAsked;
  const r = await fetch(`/api/meetings/${A.meetingId}/equity`, {headers: auth}).catch(() => null);
  if (!r || !r.ok || asked !== fairAsked) return;
  const f = await r.json();
  $("#fair-sentence").textContent = f.sentence;
  const pct = (x) => `${Math.round(100 * x)}%`;
  const rows = [el("tr", {}, el("th", {}, "who"), el("th", {}, "of the room"), el("th", {}, "of speaking time"), el("th", {}, "turns"))];
  for (const s of [...f.by_mode, ...f.by_group]) {
    rows.push(el("tr", {"data-key": `fair:${s.name}`}, el("td", {}, s.name), el("td", {}, pct(s.participant_share)),
      el("td", {}, bar(Math.round(100 * s.time_share)), ` ${pct(s.time_share)}`), el("td", {}, s.turns)));
  }
  $("#fair").replaceChildren(...rows);
  const w = f.written;
  $("#fair-written").textContent = `Written interventions: ${w.asked} asked, ${w.answered} read out, ${w.closed} closed unread, ${w.waiting} waiting.`;
}
function renderWritten() {
  // remote written interventions on this item: waiting, being read, answered
  const s = client.state, item = s.meeting.current_item, rows = [];
  const f = client.floor(), live = f && f.text && f.mode === "remote" ? [f] : [];
  for (const f of live) rows.push(el("li", {class: "reading"}, el("span", {class: "badge"}, "on the floor now"), " ", el("span", {class: "who"}, f.name), el("div", {class: "written"}, f.text)));
  for (const e of s.queue.filter((e) => e.written && e.mode === "remote")) {
    rows.push(el("li", {}, el("span", {class: "badge warn"}, `waiting, #${e.position + 1}`), " ", el("span", {class: "who"}, e.name), el("div", {class: "written"}, e.text || client.written(e.request_id))));
  }
  const answered = s.turns.filter((t) => t.item === item && t.ended_at !== null && client.written(t.request_id));
  if (answered.length) rows.push(el("li", {class: "muted"}, `${answered.length} answered on this item.`));
  if (!rows.length) rows.push(el("li", {class: "muted"}, "None on this item."));
  $("#written").replaceChildren(...rows);
}
// -- the meeting's times, the same record as the join page and calendar.ics -----------------------
function when(iso, zone, withDate = true) {
  return new Intl.DateTimeFormat([], {timeZone: zone, hour: "2-digit", minute: "2-digit",
    ...(withDate ? {weekday: "short", day: "numeric", month: "short"} : {})}).format(new Date(iso));
}
function span(m, zone) {
  return m.ends_at ? `${when(m.starts_at, zone)}–${when(m.ends_at, zone, false)}` : when(m.starts_at, zone);
}
function knownZone(zone) {
  try { new Intl.DateTimeFormat("en", {timeZone: zone}); return Boolean(zone); } catch { return false; }
}
function renderSchedule() {
  const m = client.state.meeting, zone = knownZone(m.timezone) ? m.timezone : "UTC";
  let text = m.starts_at ? `${span(m, zone)} (${zone})` : `No scheduled time; the meeting's clock is ${zone}.`;
  if (m.starts_at && zone !== A.timeZone) text += `; your time ${span(m, A.timeZone)}`;
  if (m.ended) text = `Ended at ${A.fmtTime(m.ended)}.`;
  $("#schedule").textContent = text;
}
function moved(d) {
  const zone = knownZone(d.timezone) ? d.timezone : "UTC";
  return `The meeting was moved to ${when(d.starts_at, A.timeZone, false)} your time (${span(d, zone)}, ${zone}); every invitation follows.`;
}
// -- the speaker a point of order interrupted (the server's rule, kept from the events) ------------
let interrupted = null, lastFloor = null;
function trackInterrupted(what, m) {
  const s = client.state;
  if (what === "snapshot") interrupted = s.meeting.interrupted || null;
  else if (what === "item_changed" || what === "meeting_ended") interrupted = null;
  else if (what === "floor_changed") {
    const d = m.data, prev = lastFloor;
    if (d.resumed) interrupted = null;
    else if (prev && d.kind === "point_of_order" && prev.kind !== "point_of_order") {
      const left = prev.limit_s ? Math.max(1, Math.round(prev.limit_s - (m.at - prev.started_at))) : 0;
      interrupted = {participant_id: prev.participant_id, request_id: prev.request_id, remaining_s: left};
    } else if (prev && d.participant_id) interrupted = null;
  }
  lastFloor = s.floor ? {...s.floor} : null;
}
function renderResume() {
  const button = $("#resume"), s = client.state;
  button.classList.toggle("hidden", !interrupted || Boolean(s.meeting.ended));
  if (!interrupted) return;
  const who = client.participant(interrupted.participant_id) || {name: "the speaker"};
  button.textContent = `Resume ${who.name} (${interrupted.remaining_s ? `${interrupted.remaining_s} s left` : "no time limit"})`;
  const busy = s.floor && s.floor.kind !== "point_of_order";
  button.disabled = Boolean(busy);
  button.title = busy ? "End the current turn first" : "";
}
// -- statements filed for the record: titles here, each body fetched when asked for ---------------
const bodies = new Map(), opened = new Set();
let statementsShown = -1;
function renderStatements() {
  const list = client.state.statements;
  if (list.length === statementsShown) return;
  statementsShown = list.length;
  $("#statements").replaceChildren(...(list.length ? list.map(statementRow) : [el("li", {class: "muted"}, "None yet.")]));
}
function statementRow(st) {
  const who = (client.participant(st.participant_id) || {}).name || "the chair";
  const li = el("li", {"data-id": st.statement_id});
  const button = el("button", {type: "button", "aria-expanded": "false", onclick: () => toggleStatement(st, li, button)}, "Read");
  li.append(el("span", {class: "who"}, st.title), ` by ${who}`, el("span", {class: "muted"}, ` · ${plural(st.chars || 0, "character")} · item ${(st.item ?? 0) + 1} `), button);
  if (opened.has(st.statement_id)) toggleStatement(st, li, button);
  return li;
}
async function toggleStatement(st, li, button) {
  const shown = li.querySelector(".written");
  if (shown) { shown.remove(); opened.delete(st.statement_id); button.textContent = "Read"; button.setAttribute("aria-expanded", "false"); return; }
  opened.add(st.statement_id);
  if (!bodies.has(st.statement_id)) {
    button.disabled = true;
    try {
      const r = await fetch(`/api/meetings/${A.meetingId}/statements/${encodeURIComponent(st.statement_id)}`, {headers: auth});
      const d = await r.json().catch(() => ({}));
      if (r.ok) bodies.set(st.statement_id, d.text);
      else { tell(`The statement could not be fetched: ${d.error || r.status}`); opened.delete(st.statement_id); return; }
    } finally { button.disabled = false; }
  }
  li.append(el("div", {class: "written"}, bodies.get(st.statement_id)));
  button.textContent = "Hide"; button.setAttribute("aria-expanded", "true");
}
let placing = null;  // someone just added to the list, whose place is said when the queue comes
function announcePlace() {
  const entry = client.state.queue.find((q) => q.participant_id === placing.participant_id);
  if (!entry) return false;
  tell(`Added ${placing.name} to the list: #${entry.position + 1}, ${entry.reason}.`);
  placing = null;
  return true;
}
const client = new A.MeetingClient(me.token, (what, m) => {
  A.renderConnection(client);
  if (what === "rejected") { A.showRejected(client, "Ask the organisers for a new chair link."); return; }
  if (!client.state || what === "connection") return;
  const s = client.state;
  if (what === "caption") { A.renderCaption(client, $("#caption")); return; }
  if (what === "heard") { A.renderTranscript(client, $("#transcript"), what); return; }
  trackInterrupted(what, m);
  if (what === "queue" && placing) announcePlace();
  if (what === "meeting_rescheduled" && m.data.starts_at) tell(moved(m.data));
  if (what === "meeting_ended") tell(ENDED);
  $("#title").textContent = `Chair: ${s.meeting.title}`;
  $("#policy").textContent = `(${s.meeting.policy} order${s.meeting.list_closed ? "; list closed" : ""})`;
  A.renderFloor(client, $("#floor")); A.renderQueue(client, $("#queue"), {controls: entryControls, texts: true});
  A.renderTranscript(client, $("#transcript"), what); A.renderCaption(client, $("#caption"));
  $("#list").firstChild.textContent = s.meeting.list_closed ? "Reopen list " : "Close list ";
  if (document.activeElement !== $("#limit")) $("#limit").value = s.meeting.time_limit_s;
  $("#agenda").replaceChildren(...s.meeting.agenda.map((a, i) => el("li", {"aria-current": i === s.meeting.current_item ? "step" : "false"}, i === s.meeting.current_item ? el("strong", {}, a) : a)));
  renderWritten(); renderStats(); renderSchedule(); renderResume(); renderStatements();
  if (["snapshot", "floor_changed", "participant_joined", "request_added", "request_withdrawn", "request_dropped"].includes(what)) renderFairness();
  const ended = Boolean(s.meeting.ended);
  for (const b of ["#next", "#end", "#list", "#item", "#limit", "#endmeeting"]) $(b).disabled = ended;
  $("#endmeeting").classList.toggle("hidden", ended);
});
client.connect(); A.setupAccessibility(); A.setupJump($("#transcript"));
window.meetingClient = client;
setInterval(() => { if (client.state && client.state.floor) renderStats(); }, 1000);
$("#next").addEventListener("click", () => client.send("give_floor").then(say));
// a wrong word in the record: select the line, correct it in the editor; the original and every revision are kept
let correcting = null;
function correct(line) {
  const seg = client.state.transcript.find((t) => t.id === line.dataset.id);
  if (!seg) return;
  correcting = seg;
  const form = $("#correct-form");
  form.text.value = seg.text;
  $("#correct-who").textContent = `What ${seg.speaker_name || "an unattributed speaker"} said:`;
  $("#correct-err").textContent = "";
  $("#correct").showModal();
  form.text.focus();
}
$("#correct-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = e.target.text.value.trim();
  if (!text) { $("#correct-err").textContent = "The text cannot be empty; cancel to keep the line as it is."; return; }
  if (text === correcting.text) { $("#correct").close(); return; }
  const r = await client.send("correct_segment", {segment_id: correcting.id, text});
  if (r.type !== "ack") { $("#correct-err").textContent = r.error; return; }
  $("#correct").close();
  tell("Correction saved; the original is kept in the archive.");
});
$("#correct-form").text.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("#correct-form").requestSubmit(); });
$("#correct-cancel").addEventListener("click", () => $("#correct").close());
$("#resume").addEventListener("click", () => client.send("resume").then((r) => (r.type === "ack" ? tell("The interrupted speaker has the floor again, with the time they had left.") : say(r))));
$("#endmeeting").addEventListener("click", () => {
  const title = client.state.meeting.title;
  if (confirm(`End "${title}" now?\n\nEvery open page is told; the floor and the speakers' list close and only corrections to the transcript remain possible. This cannot be undone.`)) client.send("end_meeting").then((r) => (r.type === "ack" ? tell(ENDED) : say(r)));
});
$("#transcript").addEventListener("click", (e) => { const line = e.target.closest(".line"); if (line) correct(line); });
$("#transcript").addEventListener("keydown", (e) => { const line = e.target.closest(".line"); if (line && e.key === "Enter") correct(line); });
$("#end").addEventListener("click", () => client.send("end_turn").then(say));
$("#list").addEventListener("click", () => client.send(client.state.meeting.list_closed ? "open_list" : "close_list").then(say));
$("#item").addEventListener("click", () => {
  // say what moving on costs: the turn under way and every waiting request (their authors are told why)
  const s = client.state, agenda = s.meeting.agenda, nxt = s.meeting.current_item + 1;
  if (nxt >= agenda.length) { tell(`This is the last agenda item (${agenda.length} of ${agenda.length}); end the meeting when you are done.`); return; }
  const waiting = s.queue.map((e) => e.name), floor = client.floor();
  const costs = [floor ? `${floor.name}'s turn ends.` : "",
    waiting.length ? `${plural(waiting.length, "waiting request")} will be dropped: ${waiting.join(", ")}. Their authors are told why.` : "Nobody is waiting."];
  if (!confirm(`Move to item ${nxt + 1}, "${agenda[nxt]}"?\n\n${costs.filter(Boolean).join(" ")}`)) return;
  client.send("next_item").then((r) => (r.type === "ack"
    ? tell(`Now on item ${nxt + 1}: ${agenda[nxt]}.${waiting.length ? ` ${plural(waiting.length, "waiting request")} dropped.` : ""}`) : say(r)));
});
$("#limit").addEventListener("change", (e) => {
  const seconds = Number(e.target.value);
  client.send("set_time_limit", {seconds}).then((r) => (r.type === "ack" ? tell(`Time limit: ${limitText(seconds)}, from the turn under way on.`) : say(r)));
});
$("#add").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = e.target, body = Object.fromEntries(new FormData(form));
  client.send("add_speaker", body).then((r) => {
    if (r.type !== "ack") { say(r); return; }
    // the events arrive before the ack; the queue they lead to may come just before or just after
    // it: say where the person was placed as soon as that queue is here
    const added = [...client.state.participants].reverse().find((p) => p.name === body.name && p.device === false);
    placing = added ? {participant_id: added.participant_id, name: body.name} : null;
    if (!placing || !announcePlace()) tell(`Added ${body.name} to the list.`);
    form.reset();  // the next person's organisation and group are not the last one's
    form.name.focus();
  });
});
document.addEventListener("keydown", (e) => {
  if (e.target.closest("input,textarea,select,dialog") || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === "n") $("#next").click(); else if (e.key === "e") $("#end").click(); else if (e.key === "l") $("#list").click();
  else if (/^[1-9]$/.test(e.key)) { const entry = client.state && client.state.queue[Number(e.key) - 1]; if (entry) client.send("give_floor", {request_id: entry.request_id}).then(say); }
});
const auth = {Authorization: `Bearer ${me.token}`};
// the stakeholder groups this server accepts (`[meeting] groups`), as the join page offers them
fetch(`/api/meetings/${A.meetingId}/invitation`).then((r) => r.json()).then((inv) => {
  if (inv.groups) $("#add").group.replaceChildren(...inv.groups.map((g) => el("option", {}, g)));
});
fetch(`/api/meetings/${A.meetingId}/invite`, {headers: auth}).then((r) => r.json()).then((d) => { if (d.join_url) $("#invite").textContent = `Invite link: ${d.join_url}`; });
$("#projector").addEventListener("click", async (e) => {
  e.preventDefault();
  const r = await fetch(`/api/meetings/${A.meetingId}/tokens`, {method: "POST", headers: {...auth, "Content-Type": "application/json"}, body: JSON.stringify({role: "observer"})});
  const d = await r.json(); if (d.token) window.open(`/projector/${A.meetingId}#token=${d.token}`, "_blank"); else say({type: "error", error: d.error});
});
})();
