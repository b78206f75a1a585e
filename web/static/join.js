// The join page (/join/{id}#code=…): the form an invite link opens; remembers the participant on this device.
// The invite code travels in the fragment (never sent to a server, never in a log or a Referer);
// an old link with ?code= still works and is rewritten to the fragment at once.
(() => {
"use strict";
const A = window.Assistant, {$, el, meetingId, storeKey} = A;
const query = new URLSearchParams(location.search), hash = new URLSearchParams(location.hash.slice(1));
if (query.get("code") && !hash.get("code")) {
  hash.set("code", query.get("code")); query.delete("code");
  const rest = query.toString();
  history.replaceState(null, "", `${location.pathname}${rest ? `?${rest}` : ""}#${hash}`);
}
const code = hash.get("code") || "";
// The languages this server's speech model decodes: offer those, and the browser's own only when it is one
// (with the English-only model a French browser would otherwise be refused at join).
$("#join").language.value = "en";
fetch("/api/languages").then((r) => r.json()).then(({languages}) => {
  $("#langs").replaceChildren(...Object.entries(languages).map(([c, name]) => el("option", {value: c}, name)));
  const mine = (navigator.language || "en").slice(0, 2).toLowerCase();
  $("#join").language.value = mine in languages ? mine : "en" in languages ? "en" : "";
}).catch(() => {});
const saved = JSON.parse(localStorage.getItem(storeKey) || "{}");
if (saved.token && saved.role !== "chair") location.replace(`/meeting/${meetingId}`);  // rejoin as the same person
function when(inv) {
  if (!inv.starts_at) return "";
  const fmt = {weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit"};
  const from = new Date(inv.starts_at).toLocaleString([], fmt);
  const to = inv.ends_at ? new Date(inv.ends_at).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"}) : "";
  return `${from}${to ? `–${to}` : ""} your time (${A.timeZone})`;
}
fetch(`/api/meetings/${meetingId}/invitation`).then(async (r) => {
  const inv = await r.json();
  if (!r.ok) { $("#err").textContent = inv.error; return; }
  $("#title").textContent = `Join: ${inv.title}`;
  document.title = `Join: ${inv.title}`;
  $("#when").textContent = inv.ended ? "This meeting has ended; its record is in the archive." : when(inv);
  $("#join").group.replaceChildren(...inv.groups.map((g) => el("option", {}, g)));
}).catch(() => { $("#err").textContent = "The server cannot be reached; check your connection and reload."; });
if (!code) $("#err").textContent = "This link has no invite code: open the whole link from the invitation.";
$("#join").addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = {...Object.fromEntries(new FormData(e.target)), invite_code: code};
  const resp = await fetch(`/api/meetings/${meetingId}/participants`, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  const data = await resp.json();
  if (!resp.ok) { $("#err").textContent = data.error; return; }
  localStorage.setItem(storeKey, JSON.stringify({token: data.token, participant_id: data.participant_id, role: data.role, code}));
  location.replace(`/meeting/${meetingId}`);
});
})();
