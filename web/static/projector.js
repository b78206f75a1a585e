// The projector view (/projector/{id}): speaker, countdown, captions and the next speakers for the hall.
(() => {
"use strict";
const A = window.Assistant, {$} = A;
const me = A.tokenFromPage();
const client = new A.MeetingClient(me.token, (what) => {
  A.renderConnection(client);
  if (what === "rejected") { A.showRejected(client, "Open the projector view again from the chair console."); return; }
  if (!client.state || what === "connection") return;
  const s = client.state;
  if (what === "caption") { A.renderCaption(client, $("#caption")); return; }
  $("#title").textContent = s.meeting.title;
  $("#item").textContent = s.meeting.agenda[s.meeting.current_item] || "";
  A.renderFloor(client, $("#floor")); A.renderQueue(client, $("#queue"), {limit: 4}); A.renderCaption(client, $("#caption"));
});
window.meetingClient = client;
A.setupAccessibility();
if (me.token) client.connect(); else $("#floor").textContent = "Open this view from the chair console (it needs an observer link).";
})();
