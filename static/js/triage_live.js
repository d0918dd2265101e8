// A conversation's live panel (templates/triage/live.html: its state, who else is there):
// no poll. It is asked anew (htmx, the `live` view: 204 when nothing changed for it) when
// the tab's event stream (stream.js) says this conversation changed ("triage" with its
// data-thread-id), when the stream (re)connects (what came meanwhile was not heard), and
// every data-heartbeat seconds otherwise: being asked is being there, for the others. When
// the page is hidden, closed or left, or the reading pane shows another message, a beacon
// says this page (data-page) left, so the others see it go at once; a hidden page asks
// nothing, and is back (asked anew) when shown again.
(function () {
  if (window.webmailTriageLive) return;  // brought again with a panel (the reading pane)
  window.webmailTriageLive = true;
  let busy = false;
  let again = false;
  let beat = null;
  let shown = null;  // the panel this page is on: {leave, thread, page, csrf}, null once left
  let left = null;  // the id of the page that last said it left (said once)

  function panel() {
    return document.getElementById("triage-live");
  }

  function hidden() {
    return document.visibilityState === "hidden";
  }

  function schedule() {
    clearTimeout(beat);
    const element = panel();
    if (!element || hidden()) return;
    beat = setTimeout(ask, (Number(element.dataset.heartbeat) || 25) * 1000);
  }

  function ask() {
    const element = panel();
    if (!element || !window.htmx || hidden()) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    again = false;
    schedule();  // this ask is the heartbeat too
    const done = () => {
      busy = false;
      if (again) ask();
    };
    htmx.ajax("GET", element.dataset.live, { source: element, target: "#triage-live", swap: "outerHTML" })
      .then(done, done);
  }

  function leave() {
    if (!shown) return;
    const body = new FormData();
    body.append("thread", shown.thread);
    body.append("page", shown.page);
    body.append("csrfmiddlewaretoken", shown.csrf);
    if (!navigator.sendBeacon || !navigator.sendBeacon(shown.leave, body)) {
      fetch(shown.leave, { method: "POST", body, credentials: "same-origin", keepalive: true }).catch(() => {});
    }
    left = shown.page;
    shown = null;
    clearTimeout(beat);
  }

  // The panel there now: a new one (a page drawn, the reading pane's next message) is this
  // page's; the one it replaces was left.
  function adopt() {
    const element = panel();
    const page = element && element.dataset.page;
    if ((shown && shown.page === page) || (element && page === left)) return;
    leave();
    if (!element) return;
    shown = { leave: element.dataset.leave, thread: element.dataset.thread, page, csrf: element.dataset.csrf };
    if (hidden()) {  // drawn in a tab opened behind: not there until shown
      leave();
      return;
    }
    if (window.webmailStream) window.webmailStream.ensure();
    schedule();
  }

  // A page that left stays left on the server (a late ask of its own must not bring it
  // back): shown again, it is there as a new page, with an id of its own.
  function renew(element) {
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    const page = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    element.dataset.live = element.dataset.live.replace(/([?&]page=)[0-9a-f]{16}/, "$1" + page);
    element.dataset.page = page;
    const typing = document.getElementById("triage-typing");  // the composer's (typing.js)
    if (typing) typing.dataset.page = page;
  }

  function back() {  // shown again: there again, and what changed meanwhile drawn
    const element = panel();
    if (hidden() || !element) return;
    if (!shown) renew(element);
    adopt();
    ask();
  }

  document.addEventListener("visibilitychange", () => (hidden() ? leave() : back()));
  window.addEventListener("pagehide", leave);
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) back();
  });
  document.addEventListener("htmx:afterSettle", adopt);
  if (window.webmailStream) {
    window.webmailStream.on("triage", (event) => {
      const element = panel();
      if (element && event.data === element.dataset.threadId) ask();
    });
    window.webmailStream.on("open", () => {
      if (panel()) ask();
    });
    window.webmailStream.on("poll", () => {
      if (panel()) ask();
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", adopt);
  else adopt();
})();
