// The workflow builder: when htmx fills the side panel, move the keyboard focus (and a phone's view) to it.
(function () {
  "use strict";
  document.addEventListener("htmx:afterSwap", function (e) {
    var panel = document.getElementById("panel");
    if (!panel || e.detail.target !== panel) return;
    var first = panel.querySelector("select, input:not([type=hidden]), textarea, a.button");
    (first || panel).focus();
    panel.scrollIntoView({ block: "nearest" });
  });
})();
