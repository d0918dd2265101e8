// Compose: suggestions from the directory while typing a recipient (CONFORMANCE.md DIR5),
// following the ARIA 1.2 combobox pattern: arrows move, Enter chooses, Escape closes.
// What is typed goes by POST (never in a URL); the page's CSRF token comes with it.
(() => {
  const source = document.querySelector("[data-suggest-url]");
  if (!source) return;
  const csrf = () => document.querySelector("[name=csrfmiddlewaretoken]").value;

  function combobox(input) {
    const list = document.createElement("ul");
    list.id = `${input.id}-suggestions`;
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", source.dataset.suggestLabel);
    list.hidden = true;
    input.after(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("autocomplete", "off");
    let timer = null;
    let active = -1;
    let asked = 0;
    const typed = () => input.value.split(",").pop().trim();
    const options = () => Array.from(list.children);

    // Closing also forgets the suggestions still on their way: an answer arriving after the
    // address was chosen (or the field left) never opens the list again.
    function close() {
      asked += 1;
      list.hidden = true;
      list.replaceChildren();
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      const all = options();
      if (!all.length) return;
      active = (index + all.length) % all.length;
      all.forEach((option, n) => option.setAttribute("aria-selected", String(n === active)));
      input.setAttribute("aria-activedescendant", all[active].id);
      all[active].scrollIntoView({ block: "nearest" });
    }

    function confirm(address) {
      // DIR6: the server asks the Annuaire Santé, when set up, and drops a liste rouge entry.
      fetch(source.dataset.confirmUrl, {
        method: "POST",
        body: new URLSearchParams({ address }),
        headers: { "X-CSRFToken": csrf() },
        credentials: "same-origin",
      }).catch(() => {});
    }

    function choose(option) {
      confirm(option.dataset.address);
      const parts = input.value.split(",");
      parts[parts.length - 1] = ` ${option.dataset.address}`;
      input.value = `${parts.join(",").trim()}, `;
      close();
      input.focus();
      input.dispatchEvent(new Event("input", { bubbles: true })); // the ✓/⚠ marks follow
    }

    function option(result, n) {
      const item = document.createElement("li");
      item.id = `${list.id}-${n}`;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      item.dataset.address = result.address;
      const mark = document.createElement("span");
      mark.className = result.trusted ? "mark trusted" : "mark outside";
      mark.textContent = result.trusted ? "✓ " : "⚠ ";
      mark.title = result.trusted ? source.dataset.trustedLabel : source.dataset.outsideLabel;
      const name = document.createElement("strong");
      name.textContent = result.name;
      const detail = document.createElement("span");
      detail.className = "detail";
      detail.textContent = [result.detail, result.kind_label, result.address]
        .filter(Boolean)
        .join(" — ");
      const status = document.createElement("span");
      status.className = "visually-hidden";
      status.textContent = ` (${mark.title})`;
      item.append(mark, name, " ", detail, status);
      item.addEventListener("mousedown", (event) => {
        event.preventDefault(); // keep the focus in the field
        choose(item);
      });
      return item;
    }

    async function ask() {
      const term = typed();
      if (term.length < 3) {
        close();
        return;
      }
      const mine = ++asked;
      const response = await fetch(source.dataset.suggestUrl, {
        method: "POST",
        body: new URLSearchParams({ q: term }),
        headers: { "X-CSRFToken": csrf() },
        credentials: "same-origin",
      });
      if (!response.ok || mine !== asked) return;
      const { results } = await response.json();
      if (mine !== asked || document.activeElement !== input || typed() !== term) return;
      // The address typed in full: nothing left to suggest (its ✓/⚠ shows below the field).
      if (results.some((r) => r.address.toLowerCase() === term.toLowerCase())) {
        close();
        return;
      }
      list.replaceChildren(...results.map(option));
      active = -1;
      list.hidden = !results.length;
      input.setAttribute("aria-expanded", String(results.length > 0));
    }

    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(ask, 150);
    });
    input.addEventListener("keydown", (event) => {
      if (list.hidden) return;
      if (event.key === "ArrowDown") highlight(active + 1);
      else if (event.key === "ArrowUp") highlight(active - 1);
      else if (event.key === "Enter" && active >= 0) choose(options()[active]);
      else if (event.key === "Escape") close();
      else return;
      event.preventDefault();
    });
    input.addEventListener("blur", () => {
      clearTimeout(timer);
      setTimeout(close, 150);
    });
  }

  for (const id of ["id_to", "id_cc", "id_bcc"]) {
    const input = document.getElementById(id);
    if (input) combobox(input);
  }
})();
