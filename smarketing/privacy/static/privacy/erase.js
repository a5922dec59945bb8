// The erase button stays disabled until the typed email matches the contact's (the server checks it again).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("[data-erase-form]");
    if (!form) return;
    var input = form.querySelector("[data-erase-confirm]");
    var button = form.querySelector("[data-erase-submit]");
    var expected = (form.getAttribute("data-expected") || "").trim().toLowerCase();
    if (!input || !button) return;
    function update() {
      button.disabled = input.value.trim().toLowerCase() !== expected;
    }
    input.addEventListener("input", update);
    update();
  });
})();
