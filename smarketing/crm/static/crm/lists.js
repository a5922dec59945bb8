// The list pages' Columns panel: the ↑/↓ buttons reorder the columns in place (one "Save columns" stores
// the order). Without this script each button submits the form and the server moves the column instead.
(function () {
  "use strict";

  function refresh(list) {
    var items = list.querySelectorAll("li");
    items.forEach(function (li, i) {
      var up = li.querySelector("[data-move=up]");
      var down = li.querySelector("[data-move=down]");
      if (up) up.disabled = i <= 1; // the first column (the name) stays first
      if (down) down.disabled = i === items.length - 1;
    });
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-column-list] [data-move]");
    if (!button) return;
    e.preventDefault();
    var li = button.closest("li");
    var list = li.parentElement;
    if (button.getAttribute("data-move") === "up") {
      var before = li.previousElementSibling;
      if (before && before.previousElementSibling) list.insertBefore(li, before);
    } else if (li.nextElementSibling) {
      list.insertBefore(li.nextElementSibling, li);
    }
    refresh(list);
    // Keep the keyboard where it was: on the same button of the moved column, or its twin if that one is now off.
    var again = button.disabled ? li.querySelector("[data-move]:not(:disabled)") : button;
    if (again) again.focus();
  });
})();
