// The chair console (/chair/{id}): give the floor, end turns, move entries, the list, the agenda, corrections.
(() => {
"use strict";
const A = window.Assistant, {$, el} = A;
const me = A.tokenFromPage();
const say = (r) => { $("#msg").textContent = r.type === "error" ? r.error : ""; };
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
const client = new A.MeetingClient(me.token, (what) => {
  A.renderConnection(client);
  if (what === "rejected") { A.showRejected(client, "Ask the organisers for a new chair link."); return; }
  if (!client.state || what === "connection") return;
  const s = client.state;
  if (what === "caption") { A.renderCaption(client, $("#caption")); return; }
  $("#title").textContent = `Chair: ${s.meeting.title}`;
  $("#policy").textContent = `(${s.meeting.policy} order${s.meeting.list_closed ? "; list closed" : ""})`;
  A.renderFloor(client, $("#floor")); A.renderQueue(client, $("#queue"), {controls: entryControls, texts: true});
  A.renderTranscript(client, $("#transcript"), what); A.renderCaption(client, $("#caption"));
  $("#list").firstChild.textContent = s.meeting.list_closed ? "Reopen list " : "Close list ";
  if (document.activeElement !== $("#limit")) $("#limit").value = s.meeting.time_limit_s;
  $("#agenda").replaceChildren(...s.meeting.agenda.map((a, i) => el("li", {"aria-current": i === s.meeting.current_item ? "step" : "false"}, i === s.meeting.current_item ? el("strong", {}, a) : a)));
  renderWritten(); renderStats();
});
client.connect(); A.setupAccessibility(); A.setupJump($("#transcript"));
window.meetingClient = client;
setInterval(() => { if (client.state && client.state.floor) renderStats(); }, 1000);
$("#next").addEventListener("click", () => client.send("give_floor").then(say));
// a wrong word in the record: select the line, correct it; the original and every revision are kept
function correct(line) {
  const seg = client.state.transcript.find((t) => t.id === line.dataset.id);
  if (!seg) return;
  const text = prompt(`Correct what ${seg.speaker_name || "the speaker"} said (the original is kept in the archive):`, seg.text);
  if (text !== null && text.trim() && text.trim() !== seg.text) client.send("correct_segment", {segment_id: seg.id, text: text.trim()}).then(say);
}
$("#transcript").addEventListener("click", (e) => { const line = e.target.closest(".line"); if (line) correct(line); });
$("#transcript").addEventListener("keydown", (e) => { const line = e.target.closest(".line"); if (line && e.key === "Enter") correct(line); });
$("#end").addEventListener("click", () => client.send("end_turn").then(say));
$("#list").addEventListener("click", () => client.send(client.state.meeting.list_closed ? "open_list" : "close_list").then(say));
$("#item").addEventListener("click", () => { if (confirm("Move to the next agenda item? Requests still waiting are dropped.")) client.send("next_item").then(say); });
$("#limit").addEventListener("change", (e) => client.send("set_time_limit", {seconds: Number(e.target.value)}).then(say));
$("#add").addEventListener("submit", (e) => { e.preventDefault(); client.send("add_speaker", Object.fromEntries(new FormData(e.target))).then((r) => { say(r); if (r.type === "ack") e.target.name.value = ""; }); });
document.addEventListener("keydown", (e) => {
  if (e.target.closest("input,textarea,select") || e.ctrlKey || e.metaKey || e.altKey) return;
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
