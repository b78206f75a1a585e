// The join page (/join/{id}): the form an invite link opens; remembers the participant on this device.
(() => {
"use strict";
const {$, meetingId, storeKey} = window.Assistant;
$("#join").language.value = (navigator.language || "en").slice(0, 2);
const saved = JSON.parse(localStorage.getItem(storeKey) || "{}");
if (saved.token && saved.role !== "chair") location.replace(`/meeting/${meetingId}`);  // rejoin as the same person
fetch(`/api/meetings/${meetingId}`).then((r) => r.json()).then((m) => { if (m.meeting) $("#title").textContent = `Join: ${m.meeting.title}`; });
$("#join").addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = Object.fromEntries(new FormData(e.target));
  body.invite_code = new URLSearchParams(location.search).get("code") || "";
  const resp = await fetch(`/api/meetings/${meetingId}/participants`, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  const data = await resp.json();
  if (!resp.ok) { $("#err").textContent = data.error; return; }
  localStorage.setItem(storeKey, JSON.stringify({token: data.token, participant_id: data.participant_id, role: data.role}));
  location.replace(`/meeting/${meetingId}`);
});
})();
