// Compose page: refuse files larger than the operator accepts before uploading them. The
// limit is for the whole message: the draft's attachments still ticked count too.
function keptBytes(form) {
  return Array.from(form.querySelectorAll("#draft-attachments input[name=keep_attachment]:checked"))
    .reduce((sum, box) => sum + Number(box.dataset.size || 0), 0);
}

document.addEventListener("change", (event) => {
  const input = event.target;
  if (!input.matches || !input.matches("input[type=file][data-limit]")) return;
  const total = Array.from(input.files).reduce((sum, file) => sum + file.size, 0);
  const tooBig = total > 0 && total + keptBytes(input.form) > Number(input.dataset.limit);
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

// Files dropped anywhere on the form are attached as if chosen (the same check, the same
// upload into the draft). A drop beside the form is ignored rather than opened by the
// browser in place of the page.
(function () {
  const form = document.getElementById("compose");
  const input = document.getElementById("attachments");
  const field = document.getElementById("attachment-field");
  if (!form || !input || !field || !window.DataTransfer) return;
  let depth = 0;
  const carriesFiles = (event) =>
    Boolean(event.dataTransfer) && Array.from(event.dataTransfer.types).includes("Files");

  form.dataset.dropHint = field.dataset.dropHint;
  form.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event)) return;
    depth += 1;
    form.classList.add("dragging");
  });
  form.addEventListener("dragleave", (event) => {
    if (!carriesFiles(event)) return;
    depth = Math.max(0, depth - 1);
    if (!depth) form.classList.remove("dragging");
  });
  form.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  form.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth = 0;
    form.classList.remove("dragging");
    const files = new DataTransfer();
    Array.from(input.files).forEach((file) => files.items.add(file)); // chosen, not yet kept
    Array.from(event.dataTransfer.files).forEach((file) => files.items.add(file));
    input.files = files.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
  for (const name of ["dragover", "drop"]) {
    window.addEventListener(name, (event) => {
      if (carriesFiles(event) && !form.contains(event.target)) event.preventDefault();
    });
  }
})();

// The upload's progress, and what went wrong in French: the draft's request carrying the
// files is an XMLHttpRequest whose progress htmx passes on.
(function () {
  const field = document.getElementById("attachment-field");
  if (!field) return;
  const box = document.getElementById("upload-progress");
  const bar = document.getElementById("upload-bar");
  const percent = document.getElementById("upload-percent");
  const label = document.getElementById("upload-label");
  const error = document.getElementById("upload-error");
  const uploading = (event) => event.detail.elt && event.detail.elt.id === "draft-files";

  function show(value) {
    bar.value = Math.max(bar.value, value); // the answer's own download never moves it back
    percent.textContent = Math.round(bar.value) + " %";
  }
  document.addEventListener("htmx:beforeRequest", (event) => {
    if (!uploading(event)) return;
    error.hidden = true;
    bar.value = 0;
    show(0);
    label.textContent = field.dataset.uploading;
    box.hidden = false;
  });
  document.addEventListener("htmx:xhr:progress", (event) => {
    if (uploading(event) && event.detail.lengthComputable && event.detail.total) {
      show((100 * event.detail.loaded) / event.detail.total);
    }
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    if (!uploading(event)) return;
    box.hidden = true;
    label.textContent = "";
    if (!event.detail.successful) {
      error.textContent = field.dataset.failed;
      error.hidden = false;
    }
  });
})();

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
