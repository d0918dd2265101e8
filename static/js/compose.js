// Compose page: refuse files larger than the operator accepts before uploading them.
document.addEventListener("change", (event) => {
  const input = event.target;
  if (!input.matches || !input.matches("input[type=file][data-limit]")) return;
  const total = Array.from(input.files).reduce((sum, file) => sum + file.size, 0);
  const tooBig = total > Number(input.dataset.limit);
  document.getElementById("size-warning").hidden = !tooBig;
  input.form.querySelector("button[type=submit]").disabled = tooBig;
  // Files that fit go into the draft now, so a draft reopened from Drafts keeps them.
  if (!tooBig && input.files.length && window.htmx) window.htmx.trigger("#draft-files", "upload");
});

// Once the draft holds the files, they are listed with it: the input is emptied so that
// sending does not attach them twice. Not stored (operator away): they stay in the input.
document.addEventListener("htmx:afterRequest", (event) => {
  if (!event.detail.elt || event.detail.elt.id !== "draft-files" || !event.detail.successful) return;
  if (document.querySelector("#draft-status [data-stored-files]")) {
    document.getElementById("attachments").value = "";
  }
});

// Leaving with changes not yet in the draft asks first; sending or a saved draft does not.
(function () {
  const form = document.getElementById("compose");
  if (!form) return;
  let dirty = false;
  form.addEventListener("input", () => { dirty = true; });
  form.addEventListener("submit", () => { dirty = false; });
  document.addEventListener("htmx:afterRequest", (event) => {
    const status = document.getElementById("draft-status");
    if (event.detail.successful && status && !status.querySelector(".error")) dirty = false;
  });
  window.addEventListener("beforeunload", (event) => {
    if (!dirty) return;
    event.preventDefault();
    event.returnValue = "";
  });
})();
