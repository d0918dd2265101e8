// The open list is redrawn when the mailbox changes. The server says so on the tab's event
// stream (stream.js, webmail/push.py): "changed" (its version moved) or "progress" (a sync
// moved on; at most one redraw a second), and the list is then asked anew through `changes`
// (204 when nothing changed for this page), within 600 ms of "changed". Without the stream (no EventSource, the events
// server unreachable or refusing) the list is asked every data-fallback seconds ("poll"),
// and the stream tried again.
(function () {
  let busy = false;
  let again = false;
  let lastAsk = 0;
  let later = null;

  function live() {
    return document.querySelector("#listing .live");
  }

  function ask() {
    const element = live();
    if (!element || !window.htmx) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    again = false;
    lastAsk = Date.now();
    // Not before htmx has settled the swap (20 ms), so the focus below is put back first.
    const done = () => setTimeout(() => {
      busy = false;
      if (again) ask();
    }, 100);
    htmx.ajax("GET", element.dataset.changes, { source: element, target: "#listing", swap: "outerHTML" })
      .then(done, done);
  }

  function progress() {
    const wait = lastAsk + 1000 - Date.now();
    if (wait <= 0) ask();
    else if (!later) later = setTimeout(() => { later = null; ask(); }, wait);
  }

  // Every open tab of a shared mailbox hears "changed" at the same instant: each asks within
  // SPREAD ms, at random, so that a hundred of them do not all queue at once (issue 17).
  const SPREAD = 600;
  let spread = null;
  function changed() {
    if (spread) return;  // already asking soon: that one redraws everything so far
    spread = setTimeout(() => { spread = null; ask(); }, Math.random() * SPREAD);
  }

  if (!window.webmailStream) return;
  window.webmailStream.on("changed", changed);
  window.webmailStream.on("progress", progress);
  window.webmailStream.on("poll", ask);
})();

// A redraw replaces the elements, so the keyboard focus would fall to <body>: keep it on the
// same control (same id, same link, same button), or on the list's heading if that one is gone.
(function () {
  let kept = null;

  function keyOf(element) {
    if (!element || element === document.body) return null;
    if (element.id) return "#" + CSS.escape(element.id);
    const tag = element.tagName.toLowerCase();
    if (element.getAttribute("href")) return tag + '[href="' + CSS.escape(element.getAttribute("href")) + '"]';
    if (element.name) {
      const value = element.value ? '[value="' + CSS.escape(element.value) + '"]' : "";
      return tag + '[name="' + CSS.escape(element.name) + '"]' + value;
    }
    return null;
  }

  document.addEventListener("htmx:beforeSwap", (event) => {
    const listing = document.getElementById("listing");
    const active = document.activeElement;
    kept = null;
    if (listing && event.detail.target === listing && active && listing.contains(active)) {
      kept = keyOf(active) || "";
    }
  });

  document.addEventListener("htmx:afterSettle", () => {
    if (kept === null) return;
    const listing = document.getElementById("listing");
    const found = listing && kept ? listing.querySelector(kept) : null;
    const target = found || (listing && listing.querySelector("h1"));
    kept = null;
    if (!target || document.activeElement === target) return;
    if (!found) target.setAttribute("tabindex", "-1");
    target.focus({ preventScroll: true });
  });
})();

// "Select all" ticks every row of the page (and follows the rows when they change).
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!box || !box.matches) return;
  const boxes = Array.from(document.querySelectorAll("#listing input[name=uid]"));
  if (box.id === "select-all") {
    boxes.forEach((each) => { each.checked = box.checked; });
  } else if (box.name === "uid") {
    const all = document.getElementById("select-all");
    if (all) all.checked = boxes.length > 0 && boxes.every((each) => each.checked);
  }
});

// The selection's actions show once something is selected (the toolbar is contextual);
// without this script they are always there.
function showSelectionActions() {
  const bar = document.querySelector("#listing .bulk");
  if (!bar) return;
  const any = document.querySelector("#listing input[name=uid]:checked");
  bar.classList.toggle("idle", !any);
}
document.addEventListener("change", showSelectionActions);
document.addEventListener("htmx:afterSettle", showSelectionActions);
document.addEventListener("DOMContentLoaded", showSelectionActions);
