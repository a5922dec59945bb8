// The builder re-renders its tree on the server after a field or operator changes; keep the keyboard where
// it was: refocus the control with the same id in the new tree (ids follow the node's path).
(function () {
  "use strict";
  let lastId = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    const active = document.activeElement;
    lastId = active && active.id && active.closest("#builder-tree") ? active.id : null;
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!lastId || !event.target || event.target.id !== "builder-tree") return;
    const again = document.getElementById(lastId);
    if (again) again.focus();
    lastId = null;
  });
})();
