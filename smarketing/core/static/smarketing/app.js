// Smarketing's small shared script: keyboard shortcuts, the phone menu, select-all, confirmations.
// No inline handlers anywhere (the Content-Security-Policy forbids them); behaviour hangs off data- attributes.
(function () {
  "use strict";

  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }

  // "/" focuses search; "g" then a letter jumps to a section (the letter is the link's data-key).
  var pendingG = false;
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(document.activeElement)) return;
    if (e.key === "/") {
      var search = document.querySelector("[data-shortcut='/']");
      if (search) { e.preventDefault(); search.focus(); search.select(); }
      return;
    }
    if (pendingG) {
      pendingG = false;
      var link = document.querySelector(".nav-links a[data-key='" + e.key + "']");
      if (link) { e.preventDefault(); window.location = link.href; }
      return;
    }
    if (e.key === "g") { pendingG = true; setTimeout(function () { pendingG = false; }, 1200); return; }
    var target = document.querySelector("[data-hotkey='" + e.key + "']");
    if (target) { e.preventDefault(); target.click(); }
  });

  document.addEventListener("click", function (e) {
    var toggle = e.target.closest("[data-toggle]");
    if (toggle) {
      var el = document.getElementById(toggle.getAttribute("data-toggle"));
      if (el) {
        var open = el.classList.toggle("open");
        el.classList.toggle("hidden", toggle.hasAttribute("data-toggle-hidden") && !open);
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
        if (open) { var first = el.querySelector("input, select, textarea"); if (first) first.focus(); }
      }
    }
    var confirmEl = e.target.closest("[data-confirm]");
    if (confirmEl && !window.confirm(confirmEl.getAttribute("data-confirm"))) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);

  // Select-all checkbox for bulk actions; the bulk bar shows how many rows are selected.
  document.addEventListener("change", function (e) {
    var all = e.target.closest("[data-select-all]");
    if (all) {
      document.querySelectorAll("input[name='" + all.getAttribute("data-select-all") + "']").forEach(function (box) {
        box.checked = all.checked;
      });
    }
    var counter = document.querySelector("[data-selected-count]");
    if (counter) {
      var name = counter.getAttribute("data-selected-count");
      counter.textContent = document.querySelectorAll("input[name='" + name + "']:checked").length;
    }
    // A select marked data-autosubmit sends its form when picked with the mouse or a finger. From the keyboard the
    // arrow keys only change the value (WCAG 3.2.2, On Input): Enter or the form's visible button sends it.
    var auto = e.target.closest("[data-autosubmit]");
    if (auto && auto.form && auto.dataset.picked === "pointer") auto.form.requestSubmit();
  });
  document.addEventListener("pointerdown", function (e) {
    var auto = e.target.closest && e.target.closest("select[data-autosubmit]");
    if (auto) auto.dataset.picked = "pointer";
  }, true);
  document.addEventListener("keydown", function (e) {
    var auto = e.target.closest && e.target.closest("select[data-autosubmit]");
    if (!auto) return;
    delete auto.dataset.picked;
    if (e.key === "Enter" && auto.form) { e.preventDefault(); auto.form.requestSubmit(); }
  }, true);
})();
