// The secretariat's page: create meetings, copy their links, reschedule, end, and see them all.
// The admin token is typed once and kept in sessionStorage (this tab only), sent as a Bearer
// header, never put in the address. Times are entered in a named time zone and sent as ISO 8601
// with the offset that zone has on that day; everything users typed is shown with textContent.
(() => {
"use strict";

const KEY = "assistant:admin";
const {$, el} = window.Assistant;
const viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
let token = sessionStorage.getItem(KEY) || "";
let meetings = [];
let rescheduling = null;  // the meeting the dialog is for

async function api(path, method = "GET", body = undefined) {
  const headers = {Authorization: `Bearer ${token}`};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let resp;
  try {
    resp = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  } catch {
    return {ok: false, status: 0, data: {error: "the server cannot be reached; try again in a moment"}};
  }
  let data = {};
  try { data = await resp.json(); } catch { data = {error: `the server answered ${resp.status}`}; }
  if (resp.status === 401) signOut("That admin token was refused; type it again.");
  return {ok: resp.ok, status: resp.status, data};
}

// -- time zones ------------------------------------------------------------------

const pad = (n) => String(n).padStart(2, "0");

function validZone(zone) {
  try { new Intl.DateTimeFormat("en", {timeZone: zone}); return Boolean(zone); } catch { return false; }
}

function wallParts(zone, ms) {
  const parts = new Intl.DateTimeFormat("en-US", {timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit"}).formatToParts(new Date(ms));
  const v = Object.fromEntries(parts.map((p) => [p.type, p.value]));
  return {y: +v.year, mo: +v.month, d: +v.day, h: +v.hour % 24, mi: +v.minute, s: +v.second};
}

function offsetMinutes(zone, ms) {
  const w = wallParts(zone, ms);
  return Math.round((Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - Math.floor(ms / 1000) * 1000) / 60000);
}

// "2026-12-01" and "14:00" as read on a clock in `zone` -> "2026-12-01T14:00:00+01:00"
function zonedIso(date, time, zone) {
  const [y, m, d] = date.split("-").map(Number), [h, mi] = time.split(":").map(Number);
  const wall = Date.UTC(y, m - 1, d, h, mi);
  let off = offsetMinutes(zone, wall);
  off = offsetMinutes(zone, wall - off * 60000);
  const a = Math.abs(off);
  return `${date}T${pad(h)}:${pad(mi)}:00${off < 0 ? "-" : "+"}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

function nextDay(date) {
  const [y, m, d] = date.split("-").map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + 1));
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

// the form's date, start and end (an end before the start is on the next day) -> {starts_at, ends_at}
function schedule(form) {
  const date = form.date.value, start = form.start.value, end = form.end.value, zone = form.timezone.value.trim();
  if (!date && !start && !end) return {};
  if (!date || !start) throw new Error("give the date and the start time (or leave all three empty)");
  if (!validZone(zone)) throw new Error(`"${zone}" is not a time zone name; pick one such as Europe/Zurich`);
  const out = {starts_at: zonedIso(date, start, zone)};
  if (end) out.ends_at = zonedIso(end <= start ? nextDay(date) : date, end, zone);
  return out;
}

function fmt(iso, zone, withZone = true) {
  if (!iso) return "";
  return new Intl.DateTimeFormat([], {timeZone: zone, weekday: "short", day: "numeric", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit", ...(withZone ? {timeZoneName: "short"} : {})}).format(new Date(iso));
}

function fmtTime(iso, zone) {
  return new Intl.DateTimeFormat([], {timeZone: zone, hour: "2-digit", minute: "2-digit", timeZoneName: "short"}).format(new Date(iso));
}

function span(m, zone) {
  if (!m.starts_at) return "not scheduled";
  return m.ends_at ? `${fmt(m.starts_at, zone, false)} – ${fmtTime(m.ends_at, zone)}` : fmt(m.starts_at, zone);
}

function preview(form, target) {
  try {
    const s = schedule(form);
    if (!s.starts_at) { target.textContent = "Without times, the meeting is live from now on."; return; }
    const zone = form.timezone.value.trim();
    target.textContent = `${span(s, zone)} (${zone})` + (zone === viewerZone ? "" : `; your time: ${span(s, viewerZone)}`);
  } catch (e) { target.textContent = e.message; }
}

function fillWhen(form, m) {
  const zone = validZone(m.timezone) ? m.timezone : viewerZone;
  form.timezone.value = zone;
  if (!m.starts_at) return;
  const s = wallParts(zone, Date.parse(m.starts_at));
  form.date.value = `${s.y}-${pad(s.mo)}-${pad(s.d)}`;
  form.start.value = `${pad(s.h)}:${pad(s.mi)}`;
  if (m.ends_at) { const e = wallParts(zone, Date.parse(m.ends_at)); form.end.value = `${pad(e.h)}:${pad(e.mi)}`; }
  else form.end.value = "";
}

// -- links -------------------------------------------------------------------

function linkBox(label, url, note = "") {
  const input = el("input", {readonly: "", value: url, "aria-label": label, class: "link", spellcheck: "false"});
  const status = el("span", {class: "muted", "aria-live": "polite"});
  const copy = el("button", {type: "button", onclick: async () => {
    try { await navigator.clipboard.writeText(url); status.textContent = "Copied."; }
    catch { input.select(); status.textContent = "Selected: press Ctrl+C (⌘C) to copy."; }
  }}, "Copy");
  return el("div", {class: "linkbox"}, el("span", {class: "who"}, label), note ? el("span", {class: "muted"}, note) : "",
    el("div", {class: "row"}, input, copy, status));
}

// -- the list ------------------------------------------------------------------

async function refresh() {
  const {ok, data} = await api("/api/admin/meetings");
  if (!ok) { $("#list-status").textContent = data.error || "The list could not be loaded."; return; }
  meetings = data.meetings;
  const counts = {scheduled: 0, live: 0, ended: 0};
  for (const m of meetings) counts[m.state] += 1;
  $("#list-status").textContent = meetings.length
    ? `${meetings.length} meetings: ${counts.live} live, ${counts.scheduled} scheduled, ${counts.ended} ended.`
    : "No meetings yet.";
  $("#meetings").replaceChildren(...meetings.map(row));
}

function row(m) {
  const zone = validZone(m.timezone) ? m.timezone : "UTC";  // an old archive may name no real zone
  const ended = m.state === "ended";
  const actions = el("div", {class: "actions"},
    el("button", {type: "button", onclick: () => copyInvite(m)}, "Copy invite link"),
    el("a", {href: m.calendar_url, download: `meeting-${m.id}.ics`}, "Calendar (.ics)"),
    ended ? "" : el("button", {type: "button", onclick: () => openReschedule(m)}, "Reschedule…"),
    ended ? "" : el("button", {type: "button", onclick: () => chairLink(m)}, "New chair link"),
    ended ? "" : el("button", {type: "button", class: "danger", onclick: () => endMeeting(m)}, "End…"));
  return el("tr", {"data-id": m.id},
    el("td", {}, el("a", {href: `/archive/${m.id}`}, m.title), el("div", {class: "muted"}, m.id)),
    el("td", {}, el("span", {class: `badge phase ${m.state}`}, m.state),
      ended && m.ended ? el("div", {class: "muted"}, `ended ${fmt(new Date(m.ended * 1000).toISOString(), viewerZone, false)}`) : ""),
    el("td", {}, span(m, zone), el("div", {class: "muted"}, zone)),
    el("td", {}, m.starts_at ? span(m, viewerZone) : "", el("div", {class: "muted"}, viewerZone)),
    el("td", {}, actions));
}

function notice(...children) {
  const box = $("#list-status");
  box.replaceChildren(...children);
  box.scrollIntoView({block: "nearest"});
}

async function copyInvite(m) {
  notice(linkBox(`Invite link: ${m.title}`, m.join_url, "for participants; it lets anyone with it join"));
}

async function chairLink(m) {
  const {ok, data} = await api(`/api/meetings/${m.id}/chair_link`, "POST");
  if (!ok) { notice(data.error); return; }
  notice(linkBox(`New chair link: ${m.title}`, data.chair_url, "send it to the chair only: whoever opens it chairs the meeting"));
}

async function endMeeting(m) {
  if (!confirm(`End "${m.title}" now?\n\nEvery open page is told; the speakers' list and the floor close and only corrections to the transcript remain possible. This cannot be undone.`)) return;
  const {ok, data} = await api(`/api/meetings/${m.id}/end`, "POST");
  await refresh();
  notice(ok ? `"${m.title}" has ended.` : data.error);
}

function openReschedule(m) {
  rescheduling = m;
  const form = $("#resched-form");
  form.reset();
  const zone = validZone(m.timezone) ? m.timezone : "UTC";
  $("#resched-title").textContent = `${m.title}: now ${span(m, zone)} (${zone})`;
  $("#resched-err").textContent = "";
  fillWhen(form, m);
  preview(form, $("#resched-when"));
  $("#reschedule").showModal();
}

async function submitReschedule(e) {
  e.preventDefault();
  const form = e.target, m = rescheduling;
  let body;
  try { body = {...schedule(form), timezone: form.timezone.value.trim()}; }
  catch (err) { $("#resched-err").textContent = err.message; return; }
  const {ok, data} = await api(`/api/meetings/${m.id}/schedule`, "POST", body);
  if (!ok) { $("#resched-err").textContent = data.error; return; }
  $("#reschedule").close();
  await refresh();
  notice(`"${m.title}" moved to ${span(data, data.timezone)} (${data.timezone}); everyone with a page open was told.`);
}

// -- creating ------------------------------------------------------------------

async function create(e) {
  e.preventDefault();
  const form = e.target;
  $("#create-err").textContent = "";
  const body = {title: form.title.value.trim(), policy: form.policy.value, timezone: form.timezone.value.trim(),
    agenda: form.agenda.value.split("\n").map((s) => s.trim()).filter(Boolean)};
  if (form.limit.value !== "") body.time_limit_s = Number(form.limit.value);
  try { Object.assign(body, schedule(form)); } catch (err) { $("#create-err").textContent = err.message; return; }
  const {ok, data} = await api("/api/meetings", "POST", body);
  if (!ok) { $("#create-err").textContent = data.error; return; }
  const when = body.starts_at ? `${span(body, body.timezone)} (${body.timezone})` : "live from now on";
  $("#created").replaceChildren(
    el("h3", {}, `Created: ${body.title}`), el("p", {class: "muted"}, when),
    linkBox("Chair console", data.chair_url, "send it to the chair only: whoever opens it chairs the meeting"),
    linkBox("Invite link", data.join_url, "for participants"),
    el("p", {}, el("a", {href: `/api/meetings/${data.id}/calendar.ics`, download: `meeting-${data.id}.ics`}, "Calendar invitation (.ics)"),
      " — without the invite code; attach it to your invitation with the link above."));
  $("#created").classList.remove("hidden");
  form.reset();
  form.timezone.value = body.timezone;
  preview(form, $("#create-when"));
  await refresh();
}

// -- the token -------------------------------------------------------------------

function signOut(message = "") {
  token = "";
  sessionStorage.removeItem(KEY);
  $("#work").classList.add("hidden");
  $("#forget").classList.add("hidden");
  $("#signin").classList.remove("hidden");
  $("#token-err").textContent = message;
}

async function signIn(candidate) {
  token = candidate;
  const {ok} = await api("/api/admin/meetings");
  if (!ok) return;
  sessionStorage.setItem(KEY, token);
  $("#signin").classList.add("hidden");
  $("#work").classList.remove("hidden");
  $("#forget").classList.remove("hidden");
  await refresh();
}

function init() {
  $("#zone").textContent = `Your time zone: ${viewerZone}`;
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  $("#zones").replaceChildren(...["UTC", ...zones].map((z) => el("option", {value: z})));
  const form = $("#create");
  form.timezone.value = viewerZone;
  for (const f of [form, $("#resched-form")]) {
    const target = f === form ? $("#create-when") : $("#resched-when");
    f.addEventListener("input", () => preview(f, target));
  }
  preview(form, $("#create-when"));
  form.addEventListener("submit", create);
  $("#resched-form").addEventListener("submit", submitReschedule);
  $("#resched-cancel").addEventListener("click", () => $("#reschedule").close());
  $("#token-form").addEventListener("submit", (e) => { e.preventDefault(); signIn(e.target.token.value.trim()); e.target.reset(); });
  $("#forget").addEventListener("click", () => signOut("Forgotten. Type the admin token to continue."));
  setInterval(() => { if (token && !document.hidden) refresh(); }, 30000);  // scheduled -> live as time passes
  if (token) signIn(token);
}

init();
})();
