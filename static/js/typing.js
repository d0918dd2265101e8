// A reply in a shared mailbox: tell the others "X is writing a reply" while keys are
// typed (triage.presence), at most once per data-throttle-ms, never with what is typed; and
// that it stopped, data-idle-ms after the last key (they are told over their event stream).
(() => {
  const marker = document.getElementById("triage-typing");
  const form = document.getElementById("compose");
  if (!marker || !form) return;
  const throttle = Number(marker.dataset.throttleMs) || 1500;
  const idle = Number(marker.dataset.idleMs) || 5000;
  let last = 0;
  let pause = null;

  function say(stopped) {
    const body = new URLSearchParams({
      thread: marker.dataset.thread,
      page: marker.dataset.page,
      csrfmiddlewaretoken: form.querySelector("[name=csrfmiddlewaretoken]").value,
    });
    if (stopped) body.append("stopped", "1");
    fetch(marker.dataset.url, { method: "POST", body, credentials: "same-origin" }).catch(() => {});
  }

  form.addEventListener("input", () => {
    clearTimeout(pause);
    pause = setTimeout(() => {
      last = 0;
      say(true);
    }, idle);
    const now = Date.now();
    if (now - last < throttle) return;
    last = now;
    say(false);
  });
})();
