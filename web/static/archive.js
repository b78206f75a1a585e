// The archive's list of meetings (/archive) and search across every transcript.
(() => {
"use strict";
const A = window.Assistant, {$, el} = A;
A.setupAccessibility();
const headers = A.archiveHeaders();
fetch("/api/meetings", {headers}).then(async (r) => {
  const ms = await r.json();
  if (!r.ok) {  // a private archive: only a meeting's link (its token) or the admin token opens it
    $("#list").replaceChildren(el("li", {}, "This archive is private: open a meeting from its own link, or ask the secretariat."));
    return;
  }
  $("#list").replaceChildren(...ms.map((m) => el("li", {},
    el("a", {href: `/archive/${m.id}`}, m.title), " ", el("span", {class: "muted"}, `${new Date(m.started * 1000).toLocaleString()} · ${m.ended ? "ended" : "live now"}`),
    " · ", el("a", {href: `/api/meetings/${m.id}/report.html`}, "report"))));
  if (!ms.length) $("#list").append(el("li", {}, "No meetings yet."));
});
$("#search").addEventListener("submit", (e) => { e.preventDefault(); A.runSearch(new FormData(e.target).get("q"), null, $("#hits"), $("#searchmsg")); });
})();
