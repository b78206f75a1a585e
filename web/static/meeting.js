// The participant's page (/meeting/{id}): floor, queue, transcript, asking for the floor, the microphone.
(() => {
"use strict";
const A = window.Assistant, {$} = A;
const me = A.tokenFromPage();
if (!me.token) location.replace(`/join/${A.meetingId}${location.search}${location.hash}`);
let wasNext = false, hadFloor = false;
const mic = new A.LiveMic(A.meetingId, me.token, (state, detail) => {
  const live = $("#live");
  live.classList.toggle("hidden", state === "off" && !detail);
  live.classList.toggle("on", state === "live");
  $("#livestate").textContent = {starting: "Starting your microphone…", live: "You are live: the hall hears you and your words are transcribed.",
    blocked: "Your browser needs one click to start the microphone.", error: detail, off: detail}[state];
  $("#micstart").classList.toggle("hidden", state !== "blocked");
  $("#mute").classList.toggle("hidden", state !== "live");
  if (state !== "live") $("#level").value = 0;
});
mic.onLevel = (level) => { $("#level").value = level; };
$("#tz").textContent = `times in ${A.timeZone}`;
function joinAgain() {
  // forget the refused token on this device and open the join form again (with the invite code
  // this device joined with, when it has it)
  localStorage.removeItem(A.storeKey);
  location.assign(`/join/${A.meetingId}${me.code ? `#code=${encodeURIComponent(me.code)}` : ""}`);
}
const client = new A.MeetingClient(me.token, (what) => {
  A.renderConnection(client);
  if (what === "rejected") {
    mic.stop();
    A.showRejected(client, me.code ? "Join again to take part, or ask the organisers for a new link." : "Ask the organisers for a new invitation link.",
      A.el("button", {type: "button", class: "primary", onclick: joinAgain}, "Join again"));
    return;
  }
  if (!client.state) return;
  const s = client.state;
  if (what === "caption") { A.renderCaption(client, $("#caption")); return; }
  if (what === "connection") return;
  $("#title").textContent = `${s.meeting.title} · ${s.meeting.agenda[s.meeting.current_item] || ""}`;
  A.renderFloor(client, $("#floor")); A.renderQueue(client, $("#queue"), {me: me.participant_id});
  A.renderTranscript(client, $("#transcript"), what); A.renderCaption(client, $("#caption"));
  const q = s.queue, f = s.floor, mine = q.find((e) => e.participant_id === me.participant_id);
  const next = q.length > 0 && q[0].participant_id === me.participant_id, floor = !!f && f.participant_id === me.participant_id;
  const alert = $("#alert");
  alert.classList.toggle("hidden", !(next || floor));
  alert.classList.toggle("yours", floor);
  alert.textContent = floor ? "You have the floor. Please speak now." : next ? "You are next." : "";
  if (floor && !hadFloor) A.cue("You have the floor"); else if (next && !wasNext) A.cue("You are next");
  if (!floor && !next) document.title = s.meeting.title;
  wasNext = next; hadFloor = floor;
  const mine_ = client.participant(me.participant_id);
  if (floor && mine_ && mine_.mode === "remote") mic.start(); else mic.stop();
  $("#withdraw").disabled = !mine;
  $("#mine").textContent = floor ? "You are speaking." : mine ? `You are number ${mine.position + 1} on the list: ${mine.reason}.` : s.meeting.list_closed ? "The list of speakers is closed." : "";
});
A.whoAmI(me).then(() => client.connect()); A.setupAccessibility(); A.setupJump($("#transcript"));
window.meetingClient = client;
$("#micstart").addEventListener("click", () => mic.resume());
const hall = new A.HallListener(A.meetingId, me.token, (state) => {
  $("#listen").setAttribute("aria-pressed", state !== "off");
  $("#listen").textContent = {on: "Listening: stop", reconnecting: "Listening (reconnecting…)", off: "Listen to the hall"}[state];
});
window.hallListener = hall;
$("#listen").addEventListener("click", () => (hall.on ? hall.stop() : hall.start()));
$("#mute").addEventListener("click", (e) => { const on = e.target.getAttribute("aria-pressed") !== "true"; mic.mute(on);
  e.target.setAttribute("aria-pressed", on); e.target.textContent = on ? "Unmute" : "Mute"; });
$("#ask").addEventListener("submit", async (e) => { e.preventDefault(); const f = Object.fromEntries(new FormData(e.target));
  const r = await client.send("request_floor", f); $("#askmsg").textContent = r.type === "ack" ? "You are on the list." : r.error; if (r.type === "ack") e.target.text.value = ""; });
$("#withdraw").addEventListener("click", async () => { const r = await client.send("withdraw"); $("#askmsg").textContent = r.type === "ack" ? "Withdrawn." : r.error; });
$("#statement").addEventListener("submit", async (e) => { e.preventDefault(); const r = await client.send("file_statement", Object.fromEntries(new FormData(e.target)));
  $("#stmsg").textContent = r.type === "ack" ? "Filed for the record." : r.error; if (r.type === "ack") e.target.reset(); });
})();
