// Record pages, tasks and home: quick-action tabs, and clear messages when an htmx request is refused.
(function () {
  "use strict";

  document.addEventListener("click", function (e) {
    var tab = e.target.closest("[data-tabs] [data-tab]");
    if (!tab) return;
    var group = tab.closest("[data-tabs]");
    group.querySelectorAll("[data-tab]").forEach(function (other) {
      var active = other === tab;
      other.classList.toggle("active", active);
      other.setAttribute("aria-selected", active ? "true" : "false");
      var panel = document.getElementById(other.getAttribute("data-tab"));
      if (panel) panel.classList.toggle("hidden", !active);
    });
    var panel = document.getElementById(tab.getAttribute("data-tab"));
    var first = panel && panel.querySelector("input:not([type=hidden]), textarea, select");
    if (first) first.focus();
  });

  function toast(message) {
    window.smToast({ message: message, level: "error" });  // toast.js, loaded by base.html
  }

  // htmx does not swap error responses; show the server's plain-text reason instead of failing silently.
  document.body.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    var type = xhr.getResponseHeader("Content-Type") || "";
    var text = type.indexOf("text/plain") === 0 ? xhr.responseText : "";
    toast(text || "That did not work (error " + xhr.status + "). Reload the page and try again.");
  });
  document.body.addEventListener("htmx:sendError", function () {
    toast("Network problem: nothing was saved. Try again.");
  });
})();
