// The undo toast (components/undo_toast.html): said to screen readers once shown, gone after
// its seconds, never while the pointer or the keyboard focus is on it; × closes it.
(function () {
  const toast = document.getElementById("undo-toast");
  if (!toast) return;
  let left = Number(toast.dataset.seconds || 8) * 1000;
  let started = 0;
  let timer = null;
  let held = false;

  function hide() {
    const hadFocus = toast.contains(document.activeElement);
    clearTimeout(timer);
    toast.remove();
    if (hadFocus) document.getElementById("content").focus(); // never lost to <body>
  }
  function run() {
    started = Date.now();
    timer = setTimeout(hide, left);
  }
  function hold() {
    if (held) return;
    held = true;
    clearTimeout(timer);
    left -= Date.now() - started;
  }
  function release() {
    if (!held) return;
    held = false;
    left = Math.max(left, 2000);
    run();
  }

  toast.addEventListener("mouseenter", hold);
  toast.addEventListener("mouseleave", () => {
    if (!toast.contains(document.activeElement)) release();
  });
  toast.addEventListener("focusin", hold);
  toast.addEventListener("focusout", (event) => {
    if (!toast.contains(event.relatedTarget) && !toast.matches(":hover")) release();
  });
  toast.querySelector(".toast-close").addEventListener("click", hide);
  // A live region speaks when its text changes, not when the page arrives with it.
  const text = toast.querySelector(".toast-text");
  const said = text.textContent;
  text.textContent = "";
  setTimeout(() => { text.textContent = said; }, 50);
  run();
})();
