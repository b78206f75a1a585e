// The projector view (/projector/{id}): readable from the back of the hall. Who has the floor and a
// written intervention being read are the largest things; captions show only the words of whoever
// holds the floor now; "list closed" is shown; the page's own controls stay hidden until the
// mouse moves or the keyboard reaches them.
(() => {
"use strict";
const A = window.Assistant, {$} = A;
const me = A.tokenFromPage();
const client = new A.MeetingClient(me.token, (what) => {
  A.renderConnection(client);
  if (what === "rejected") { A.showRejected(client, "Open the projector view again from the chair console."); return; }
  if (!client.state || what === "connection") return;
  const s = client.state;
  if (what === "caption" || what === "heard") { A.renderCaption(client, $("#caption"), {current: true}); return; }
  $("#title").textContent = s.meeting.title;
  $("#item").textContent = s.meeting.agenda[s.meeting.current_item] || "";
  $("#closed").classList.toggle("hidden", !s.meeting.list_closed);
  A.renderFloor(client, $("#floor")); A.renderQueue(client, $("#queue"), {limit: 4}); A.renderCaption(client, $("#caption"), {current: true});
});
window.meetingClient = client;
A.setupAccessibility();
// the controls show while the mouse moves over the screen (and whenever one has the focus)
let still = null;
document.addEventListener("mousemove", () => {
  document.body.classList.add("pointing");
  clearTimeout(still); still = setTimeout(() => document.body.classList.remove("pointing"), 3000);
});
if (me.token) client.connect(); else $("#floor").textContent = "Open this view from the chair console (it needs an observer link).";
})();
