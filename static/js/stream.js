// The tab's one event stream on its mailbox (webmail/push.py): the list (live.js) and a
// conversation's live panel (triage_live.js) both listen to it, never each to their own.
// It is opened from the page's element that names it (data-events: the list's, else the
// panel's), and passes on: "changed" and "progress" (the mailbox), "triage" (one of its
// conversations, by its opaque id), "open" (connected, anew too: what came meanwhile was
// not heard), "poll" (no stream: every data-fallback seconds, and at once when it was
// refused, a session ended perhaps; it is tried again meanwhile). "ended" (the session
// ended) takes the page where it says, the login page saying why.
(function () {
  if (window.webmailStream) return;  // brought again with a panel (the reading pane)
  const handlers = {};
  let source = null;
  let poll = null;

  function emit(type, event) {
    (handlers[type] || []).forEach((handler) => handler(event));
  }

  function named() {
    return document.querySelector("#listing .live[data-events]") || document.querySelector("[data-events]");
  }

  function slowPoll(on) {
    if (on && !poll) {
      const element = named();
      const seconds = Number(element && element.dataset.fallback) || 60;
      poll = setInterval(() => {
        emit("poll");
        if (!source || source.readyState === EventSource.CLOSED) connect();
      }, seconds * 1000);
    } else if (!on && poll) {
      clearInterval(poll);
      poll = null;
    }
  }

  function connect() {
    const element = named();
    if (!element) return;
    if (!window.EventSource) {
      slowPoll(true);
      return;
    }
    if (source) source.close();
    const opened = new EventSource(element.dataset.events);
    source = opened;
    ["changed", "progress", "triage"].forEach((type) => {
      opened.addEventListener(type, (event) => emit(type, event));
    });
    opened.addEventListener("open", (event) => {
      slowPoll(false);
      emit("open", event);
    });
    opened.addEventListener("ended", (event) => {  // the session ended: to the login page
      opened.close();
      if (event.data.startsWith("/") && !event.data.startsWith("//")) window.location.assign(event.data);
    });
    opened.addEventListener("error", () => {
      if (opened !== source) return;  // one we replaced
      slowPoll(true);  // meanwhile: the browser retries on its own unless refused
      if (opened.readyState === EventSource.CLOSED) emit("poll");  // refused: a session ended?
    });
  }

  window.webmailStream = {
    on(type, handler) {
      (handlers[type] = handlers[type] || []).push(handler);
    },
    // Opened once an element names it: at load, or when the reading pane brings a panel.
    ensure() {
      if (!source && !poll) connect();
    },
  };
  // Back from the browser's back/forward cache: its stream was cut there.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) connect();
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => window.webmailStream.ensure());
  else window.webmailStream.ensure();
})();
