// The email template editor: merge-field picker, preview width, and the preview reloading after each save.
// No inline handlers (the Content-Security-Policy forbids them); behaviour hangs off data- attributes.
(function () {
  "use strict";

  var lastTarget = null;  // the field the marketer was typing in, where a merge field goes
  var phone = false;

  document.addEventListener("focusin", function (e) {
    if (e.target.matches && e.target.matches("[data-merge-target]")) lastTarget = e.target;
  });

  function announce(text) {
    var status = document.getElementById("a11y-status");
    if (status) status.textContent = text;
  }

  function insert(field, tag) {
    var start = field.selectionStart == null ? field.value.length : field.selectionStart;
    var end = field.selectionEnd == null ? start : field.selectionEnd;
    field.value = field.value.slice(0, start) + tag + field.value.slice(end);
    field.focus();
    field.setSelectionRange(start + tag.length, start + tag.length);
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function applyWidth() {
    var wrap = document.querySelector("[data-preview-wrap]");
    if (wrap) wrap.classList.toggle("phone", phone);
    document.querySelectorAll("[data-preview-width]").forEach(function (b) {
      var on = (b.getAttribute("data-preview-width") === "phone") === phone;
      b.classList.toggle("active", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }

  document.addEventListener("click", function (e) {
    var pick = e.target.closest("[data-merge-tag]");
    if (pick) {
      var tag = pick.getAttribute("data-merge-tag");
      if (lastTarget && document.body.contains(lastTarget) && !lastTarget.disabled) {
        insert(lastTarget, tag);
        announce("Inserted " + tag);
      } else {
        announce("Click in a text field first, then pick a merge field.");
      }
      return;
    }
    var width = e.target.closest("[data-preview-width]");
    if (width) {
      phone = width.getAttribute("data-preview-width") === "phone";
      applyWidth();
    }
  });

  function reloadPreview() {
    var frame = document.querySelector(".preview-frame");
    if (!frame || !window.htmx) return;
    window.htmx.ajax("GET", frame.getAttribute("data-panel-src"), { target: "#preview-panel", swap: "outerHTML" });
  }

  // A save in the editor (a block, the subject, the HTML) changes what the preview shows.
  document.body.addEventListener("htmx:afterRequest", function (e) {
    var elt = e.detail.elt;
    if (!e.detail.successful || !elt || !elt.closest) return;
    if (e.detail.requestConfig && e.detail.requestConfig.verb !== "post") return;
    if (elt.closest(".email-editor-main")) reloadPreview();
  });

  document.body.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target && (e.detail.target.id === "preview-panel" || e.detail.elt.id === "preview-panel")) applyWidth();
    var panel = document.getElementById("preview-panel");
    if (panel && e.detail.elt && e.detail.elt.closest && e.detail.elt.closest("#preview-panel")) applyWidth();
  });
})();
