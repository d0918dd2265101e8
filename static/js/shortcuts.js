// Keyboard shortcuts in the Gmail / Roundcube tradition (issue 15). Keys act on elements
// that carry data-shortcut="<key>" (the page decides what each key means there); j/k move
// through the list, o or Enter opens, x selects, ? shows the help. Never while typing.
(function () {
  const NOT_TYPED = ["checkbox", "radio", "button", "submit", "reset", "file"];

  function typing(target) {
    if (!target) return false;
    if (target.isContentEditable || /^(TEXTAREA|SELECT)$/.test(target.tagName)) return true;
    return target.tagName === "INPUT" && !NOT_TYPED.includes(target.type);
  }

  function rows() {
    return Array.from(document.querySelectorAll("#listing tbody tr"));
  }

  function current() {
    return document.querySelector("#listing tbody tr.current-row");
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const at = all.indexOf(current());
    const next = all[Math.max(0, Math.min(all.length - 1, at < 0 ? 0 : at + step))];
    all.forEach((row) => row.classList.remove("current-row"));
    next.classList.add("current-row");
    const link = next.querySelector("td.subject a");
    if (link) link.focus();
    // The reading pane (pane.js) opens what j/k reach.
    next.dispatchEvent(new CustomEvent("webmail:current-row", { bubbles: true }));
  }

  function rowOf(element) {
    return element && element.closest ? element.closest("#listing tbody tr") : null;
  }

  // What e and # act on in a list: the ticked rows, else the current one.
  function selectCurrentIfNone() {
    if (document.querySelector("#listing input[name=uid]:checked")) return;
    const row = current() || rowOf(document.activeElement);
    const box = row && row.querySelector("input[name=uid]");
    if (box) box.checked = true;
  }

  function help() {
    const dialog = document.getElementById("shortcuts-help");
    if (dialog && !dialog.open) dialog.showModal();
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const key = event.key;
    if (key === "?") return help(), event.preventDefault();
    // In a list, j/k move through it; on a message's page they lead to the next or
    // previous message (its links carry data-shortcut).
    if ((key === "j" || key === "k") && rows().length) {
      return move(key === "j" ? 1 : -1), event.preventDefault();
    }
    if (key === "/") {
      const search = document.getElementById("search-q");
      if (search) search.focus(), event.preventDefault();
      return;
    }
    // Enter on a focused link or button does its own thing; o always opens.
    const native = key === "Enter" && event.target.closest && event.target.closest("a, button");
    if ((key === "o" || key === "Enter") && current() && !native) {
      const link = current().querySelector("td.subject a");
      if (link) link.click(), event.preventDefault();
      return;
    }
    if (key === "x") {
      const row = current() || rowOf(document.activeElement);
      const box = row && row.querySelector("input[name=uid]");
      if (box) box.click(), event.preventDefault();
      return;
    }
    const target = document.querySelector('[data-shortcut="' + CSS.escape(key) + '"]');
    if (!target) return;
    if ((key === "e" || key === "#") && document.getElementById("listing")) selectCurrentIfNone();
    event.preventDefault();
    target.click();
  });

  // A redraw of the list (live.js) keeps the current row.
  let kept = null;
  document.addEventListener("htmx:beforeSwap", () => {
    const row = current();
    const box = row && row.querySelector("input[name=uid], td.subject a");
    kept = box ? (box.value || box.getAttribute("href")) : null;
  });
  document.addEventListener("htmx:afterSettle", () => {
    if (!kept) return;
    const match = rows().find((row) => {
      const box = row.querySelector("input[name=uid], td.subject a");
      return box && (box.value || box.getAttribute("href")) === kept;
    });
    if (match) match.classList.add("current-row");
    kept = null;
  });

  document.addEventListener("click", (event) => {
    if (event.target && event.target.id === "shortcuts-close") {
      document.getElementById("shortcuts-help").close();
    }
    if (event.target && event.target.id === "shortcuts-open") help();
  });
})();
