// The open list is redrawn by htmx when the mailbox changes (mail/listing.html). A redraw
// replaces the elements, so the keyboard focus would fall to <body>: keep it on the same
// control (same id, same link, same button), or on the list's heading if that one is gone.
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
