// Compose page: refuse files larger than the operator accepts before uploading them.
document.addEventListener("change", (event) => {
  const input = event.target;
  if (!input.matches || !input.matches("input[type=file][data-limit]")) return;
  const total = Array.from(input.files).reduce((sum, file) => sum + file.size, 0);
  const tooBig = total > Number(input.dataset.limit);
  document.getElementById("size-warning").hidden = !tooBig;
  input.form.querySelector("button[type=submit]").disabled = tooBig;
});
