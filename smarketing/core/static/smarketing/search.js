// The header's global search: a combobox whose dropdown htmx fills from /search/menu/ as the user types.
// Arrow keys move through the results (the input keeps focus; aria-activedescendant names the active one),
// Enter opens the active result or, with none active, the full results page; Escape closes the dropdown.
// "/" to focus the box is app.js's shortcut.
(function () {
  "use strict";

  var form = document.querySelector("[data-global-search]");
  if (!form) return;
  var input = form.querySelector("input[name=q]");
  var menu = document.getElementById("global-search-menu");
  var status = document.getElementById("global-search-status");
  var active = -1;

  function options() {
    return Array.prototype.slice.call(menu.querySelectorAll("[role=option]"));
  }

  function setActive(index) {
    var all = options();
    all.forEach(function (el) { el.classList.remove("is-active"); el.setAttribute("aria-selected", "false"); });
    active = all.length ? (index + all.length) % all.length : -1;
    if (active < 0 || !all.length) { input.removeAttribute("aria-activedescendant"); return; }
    var el = all[active];
    el.classList.add("is-active");
    el.setAttribute("aria-selected", "true");
    input.setAttribute("aria-activedescendant", el.id);
    el.scrollIntoView({ block: "nearest" });
  }

  function open() {
    var any = options().length > 0;
    menu.hidden = !any;
    input.setAttribute("aria-expanded", any ? "true" : "false");
  }

  function close() {
    menu.hidden = true;
    input.setAttribute("aria-expanded", "false");
    setActive(-1);
  }

  document.body.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target !== menu) return;
    active = -1;
    input.removeAttribute("aria-activedescendant");
    if (!input.value.trim()) { menu.innerHTML = ""; close(); status.textContent = ""; return; }
    open();
    var found = menu.querySelectorAll("[role=option]:not(.search-option-all):not(.search-option-more)").length;
    status.textContent = found ? found + (found === 1 ? " result" : " results") + ". Use the arrow keys to choose one."
      : "Nothing matches.";
  });

  input.addEventListener("input", function () {
    if (!input.value.trim()) { menu.innerHTML = ""; close(); }
  });

  input.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!options().length) return;
      e.preventDefault();
      if (menu.hidden) { open(); }
      setActive(active < 0 ? (e.key === "ArrowDown" ? 0 : -1) : active + (e.key === "ArrowDown" ? 1 : -1));
    } else if (e.key === "Enter" && !menu.hidden && active >= 0) {
      e.preventDefault();
      window.location.href = options()[active].href;
    } else if (e.key === "Escape" && !menu.hidden) {
      e.preventDefault();
      close();
    }
  });

  menu.addEventListener("mousemove", function (e) {
    var option = e.target.closest("[role=option]");
    if (option) setActive(options().indexOf(option));
  });

  input.addEventListener("focus", function () {
    if (input.value.trim() && options().length) open();
  });

  // Clicking or tabbing anywhere outside the search closes the dropdown.
  document.addEventListener("click", function (e) {
    if (!form.contains(e.target)) close();
  });
  form.addEventListener("focusout", function (e) {
    if (!e.relatedTarget || !form.contains(e.relatedTarget)) close();
  });
})();
