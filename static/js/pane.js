// The reading pane (components/reading_pane.html): a message of the list opens beside or
// under it, without leaving the page, from the reader's own view and template (htmx); the
// opening is marked read and audited there exactly as on the reader's page. A click, o or
// Enter opens; j/k move through the list and open what they reach, after a short pause
// (running down the list does not open every message on the way). The keyboard focus stays
// where it was: on the list's row, or on the pane's "previous"/"next" just used. On a phone
// the pane is not shown and links open the reader's page.
(function () {
  const pane = document.getElementById("reader-pane");
  if (!pane || !window.htmx) return;
  const narrow = window.matchMedia("(max-width: 48rem)");
  const PAUSE_MS = 350;
  let opened = null; // the UID shown
  let pending = null;

  function uidOf(href) {
    const found = /\/message\/(\d+)\/(?:\?|$)/.exec(href || "");
    return found ? found[1] : null;
  }

  // Links that open a message in the pane: the list's subjects, and the pane's own
  // previous / next / "show images" (never "open on its own page", nor any other link).
  function paneLink(element) {
    const link = element && element.closest ? element.closest("a[href]") : null;
    if (!link || !uidOf(link.getAttribute("href")) || link.classList.contains("full-page")) {
      return null;
    }
    return link.closest("#listing td.subject, #reader-pane .reader-nav, #reader-pane .banner")
      ? link
      : null;
  }

  function rowOf(uid) {
    return Array.from(document.querySelectorAll("#listing tbody tr")).find((row) => {
      const link = row.querySelector("td.subject a");
      return link && uidOf(link.getAttribute("href")) === uid;
    });
  }

  // The row shown in the pane says so; opening makes it the list's current one (e and # act
  // on it), a redraw of the list does not move the current row.
  function markOpened(current) {
    document.querySelectorAll("#listing tr.open-row").forEach((row) => {
      row.classList.remove("open-row");
      const link = row.querySelector("td.subject a");
      if (link) link.removeAttribute("aria-current");
    });
    const row = opened && rowOf(opened);
    if (!row) return;
    row.classList.add("open-row");
    row.querySelector("td.subject a").setAttribute("aria-current", "true");
    if (current && !row.classList.contains("current-row")) {
      document.querySelectorAll("#listing tr.current-row").forEach((r) => r.classList.remove("current-row"));
      row.classList.add("current-row");
    }
  }

  function say(text) {
    const p = document.createElement("p");
    p.className = "empty";
    p.setAttribute("role", "status");
    p.textContent = text;
    pane.replaceChildren(p);
  }

  function open(href, refocus) {
    clearTimeout(pending);
    opened = uidOf(href);
    markOpened(true);
    pane.setAttribute("aria-busy", "true");
    window.htmx
      .ajax("GET", href, { target: "#reader-pane", swap: "innerHTML" })
      .then(() => {
        pane.removeAttribute("aria-busy");
        pane.scrollTop = 0;
        // Opened, it is read (the reader marked it): its row says so at once, as the list
        // drawn anew would (opening does not redraw the others' lists: issue 17).
        const row = pane.querySelector("#pane-subject") && rowOf(opened);
        if (row) row.classList.remove("unread");
        if (!refocus) return;
        const again = refocus.id && pane.querySelector("#" + CSS.escape(refocus.id));
        (again || pane.querySelector("#pane-subject") || pane).focus({ preventScroll: true });
      });
  }

  document.addEventListener("click", (event) => {
    if (narrow.matches || event.defaultPrevented || event.button !== 0) return;
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    const link = paneLink(event.target);
    if (!link) return;
    event.preventDefault();
    // A link inside the pane is replaced with it: its twin in the new message gets the focus.
    open(link.getAttribute("href"), pane.contains(link) ? link : null);
  });

  // j/k (static/js/shortcuts.js) made another row the current one.
  document.addEventListener("webmail:current-row", (event) => {
    if (narrow.matches) return;
    const link = event.target.querySelector("td.subject a");
    const href = link && link.getAttribute("href");
    if (!href || !uidOf(href) || uidOf(href) === opened) return;
    clearTimeout(pending);
    pending = setTimeout(() => open(href, null), PAUSE_MS);
  });

  // What the pane shows when the message cannot be: in French, from the page.
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.target !== pane) return;
    const status = event.detail.xhr.status;
    if (status === 503) {
      event.detail.shouldSwap = true; // the reader's own "operator unreachable" partial
      event.detail.isError = false;
    } else if (status >= 400) {
      event.detail.shouldSwap = false;
      pane.removeAttribute("aria-busy");
      say(status === 404 ? pane.dataset.gone : pane.dataset.failed);
    }
  });
  document.addEventListener("htmx:sendError", (event) => {
    if (event.detail.target !== pane) return;
    pane.removeAttribute("aria-busy");
    say(pane.dataset.failed);
  });

  // The list redrawn (a sync, a poll): the opened row is marked again.
  document.addEventListener("htmx:afterSettle", (event) => {
    if (event.detail.target !== pane) markOpened(false);
  });
})();
