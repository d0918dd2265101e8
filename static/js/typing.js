// A reply in a shared mailbox: tell the others "X is writing a reply" while keys are
// typed (triage.presence), at most once per data-throttle-ms, never with what is typed.
(() => {
  const marker = document.getElementById("triage-typing");
  const form = document.getElementById("compose");
  if (!marker || !form) return;
  const throttle = Number(marker.dataset.throttleMs) || 1500;
  let last = 0;
  form.addEventListener("input", () => {
    const now = Date.now();
    if (now - last < throttle) return;
    last = now;
    const body = new URLSearchParams({
      thread: marker.dataset.thread,
      csrfmiddlewaretoken: form.querySelector("[name=csrfmiddlewaretoken]").value,
    });
    fetch(marker.dataset.url, { method: "POST", body, credentials: "same-origin" }).catch(() => {});
  });
})();
