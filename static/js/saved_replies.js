// Saved replies in the composer: pick one (Alt+Shift+R focuses the list), Enter or the
// button inserts its text, placeholders already filled in, where the cursor is.
(function () {
  "use strict";
  var list = document.getElementById("saved-reply");
  var button = document.getElementById("insert-saved-reply");
  var text = document.getElementById("id_text");
  if (!list || !button || !text) return;
  function insert() {
    var source = document.getElementById("saved-reply-" + list.value);
    if (!source) return;
    var value = source.content.textContent;
    var at = text.selectionStart || 0;
    text.value = text.value.slice(0, at) + value + text.value.slice(text.selectionEnd || at);
    text.focus();
    text.selectionStart = text.selectionEnd = at + value.length;
    text.dispatchEvent(new Event("input", { bubbles: true }));  // the draft is kept
  }
  button.addEventListener("click", insert);
  list.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); insert(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.altKey && event.shiftKey && (event.key === "R" || event.key === "r")) {
      event.preventDefault();
      list.focus();
    }
  });
})();
