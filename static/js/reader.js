// The message's HTML body is as tall as its content: the page scrolls, never the frame
// (issue 15). The frame runs no script (its sandbox has no allow-scripts, and the body's
// own CSP says so again); it is same-origin only so that this page can measure it, and
// measures again when its content moves (images arriving, another width).
(function () {
  function documentOf(frame) {
    try {
      const doc = frame.contentDocument;
      return doc && doc.documentElement && doc.location.href !== "about:blank" ? doc : null;
    } catch (error) {
      return null; // not ours (never the case for the body frame): leave it as it is
    }
  }

  function fit(frame) {
    const doc = documentOf(frame);
    if (!doc) return;
    const root = doc.documentElement;
    // The root's box holds its content, margins included; content wider or floating out of
    // it shows as overflow.
    const content = root.getBoundingClientRect().height;
    const overflow = root.scrollHeight > root.clientHeight ? root.scrollHeight : 0;
    const borders = frame.offsetHeight - frame.clientHeight;
    const wanted = Math.ceil(Math.max(content, overflow)) + borders;
    if (Math.abs(frame.offsetHeight - wanted) > 1) frame.style.height = wanted + "px";
  }

  function watch(frame) {
    const doc = documentOf(frame);
    if (!doc || frame.fittedDocument === doc) return;
    frame.fittedDocument = doc;
    fit(frame);
    if (window.ResizeObserver) new ResizeObserver(() => fit(frame)).observe(doc.documentElement);
  }

  function watchAll() {
    document.querySelectorAll("iframe.body").forEach((frame) => {
      const doc = documentOf(frame);
      if (doc && doc.readyState === "complete") watch(frame);
    });
  }

  // A frame's load does not bubble; it is seen on its way down (capture).
  document.addEventListener(
    "load",
    (event) => {
      if (event.target.matches && event.target.matches("iframe.body")) watch(event.target);
    },
    true,
  );
  document.addEventListener("htmx:afterSettle", watchAll); // a message opened in the pane
  watchAll();
})();
