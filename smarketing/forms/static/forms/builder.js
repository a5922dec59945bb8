// The builder re-renders its field list on the server after a button; keep the keyboard where it was: on the
// moved field's same button, on the next field after a removal, or on the control with the same id. The found
// element is marked data-swap-focus, which a11y.js (it moves focus after every POST swap) then focuses.
// The live preview is refreshed while the user types: focus stays in the field being typed in.
(function () {
  "use strict";
  let wanted = null;
  let typing = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    const active = document.activeElement;
    const target = event.detail.target;
    if (target && target.id === "form-preview") { typing = active; return; }
    if (!active || !active.closest("#form-fields")) { wanted = null; return; }
    const action = active.name === "action" ? String(active.value) : "";
    const [verb, arg] = action.split(":");
    const i = parseInt(arg, 10);
    if (verb === "up") wanted = ["field-" + (i - 1) + "-up", "field-" + (i - 1) + "-down"];
    else if (verb === "down") wanted = ["field-" + (i + 1) + "-down", "field-" + (i + 1) + "-up"];
    else if (verb === "remove") wanted = ["f" + i + "-label", "f" + (i - 1) + "-label", "add-field"];
    else if (verb === "add") wanted = [];
    else wanted = active.id ? [active.id] : null;
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    const region = event.target;
    if (region && region.id === "form-preview") {
      const back = typing;
      typing = null;
      // a11y.js moves focus to the swapped region after a POST (in a timeout): put it back after that.
      if (back && back.isConnected) setTimeout(function () { back.focus(); }, 0);
      return;
    }
    if (!region || region.id !== "form-fields" || wanted === null) return;
    let found = wanted.map(function (id) { return document.getElementById(id); }).find(Boolean);
    if (!found) {
      const rows = region.querySelectorAll(".form-field-row");
      found = rows.length ? rows[rows.length - 1].querySelector("input[type=text]") : null;
    }
    if (found) {
      region.querySelectorAll("[data-swap-focus]").forEach(function (el) { el.removeAttribute("data-swap-focus"); });
      found.setAttribute("data-swap-focus", "");
      found.focus();
    }
    wanted = null;
  });
})();
