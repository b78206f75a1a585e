// One meeting's transcript in the archive (/archive/{id}): filters, search, downloads, links to a moment.
(() => {
"use strict";
const A = window.Assistant, {$, el} = A;
A.setupAccessibility();
const headers = A.archiveHeaders(), base = `/api/meetings/${A.meetingId}`;
let doc = null;
const labels = {html: "printable HTML", md: "Markdown", txt: "plain text (>> NAME:)", vtt: "WebVTT captions", srt: "SRT captions", json: "JSON"};
$("#downloads").replaceChildren(
  el("li", {}, el("a", {href: `${base}/report.html`}, "Chair's report"), " · ", el("a", {href: `${base}/report.md?download`}, "Markdown")),
  ...Object.entries(labels).map(([fmt, label]) => el("li", {}, el("a", {href: `${base}/transcript.${fmt}?download`}, `Transcript: ${label}`))));
function options(select, values) { for (const [v, label] of values) select.append(el("option", {value: v}, label)); }
function render() {
  const f = Object.fromEntries(new FormData($("#filters")));
  const rows = [];
  let shown = 0;
  for (const it of doc.items) {
    if (f.item !== "" && String(it.item) !== f.item) continue;
    const segs = it.segments.filter((s) => (!f.speaker || s.speaker_id === f.speaker) && (!f.group || s.group === f.group));
    if (!segs.length) continue;
    rows.push(el("h3", {}, `${it.item + 1}. ${it.title}`));
    for (const s of segs) {
      shown += 1;
      rows.push(el("p", {id: s.id, class: "line"}, el("a", {class: "time", href: `#${s.id}`}, new Date(s.time).toLocaleTimeString()), " ",
        el("span", {class: "who"}, s.speaker || "—"), s.affiliation ? el("span", {class: "aff"}, ` (${s.affiliation})`) : "",
        s.group ? el("span", {class: "badge"}, s.group) : "", " ", el("span", {class: "said"}, s.text),
        s.revisions ? el("span", {class: "muted", title: `as first transcribed: ${s.original_text}`}, " (corrected)") : ""));
    }
  }
  $("#lines").replaceChildren(...rows);
  $("#count").textContent = `${shown} line${shown === 1 ? "" : "s"} shown.`;
  const target = location.hash && document.getElementById(location.hash.slice(1));
  if (target) { target.classList.add("target"); target.scrollIntoView({block: "center"}); }
}
fetch(`${base}/transcript.json`, {headers}).then(async (r) => {
  if (!r.ok) { $("#count").textContent = (await r.json()).error; return; }
  doc = await r.json();
  $("#title").textContent = doc.meeting.title;
  document.title = `Transcript: ${doc.meeting.title}`;
  const speakers = new Map(), groups = new Set();
  for (const it of doc.items) for (const s of it.segments) { if (s.speaker_id) speakers.set(s.speaker_id, s.speaker); if (s.group) groups.add(s.group); }
  options($("#filters").speaker, [...speakers].sort((a, b) => a[1].localeCompare(b[1])));
  options($("#filters").group, [...groups].sort().map((g) => [g, g]));
  options($("#filters").item, doc.agenda.map((t, i) => [String(i), `${i + 1}. ${t}`]));
  render();
});
$("#filters").addEventListener("change", render);
window.addEventListener("hashchange", () => { for (const n of document.querySelectorAll(".target")) n.classList.remove("target"); render(); });
$("#search").addEventListener("submit", (e) => { e.preventDefault(); A.runSearch(new FormData(e.target).get("q"), A.meetingId, $("#hits"), $("#searchmsg")); });
})();
