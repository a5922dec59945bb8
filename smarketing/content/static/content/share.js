/* The share panel and the shared-links list: Copy buttons (data-share-copy="id of the input holding the link")
   and select-on-focus for the link field. Delegated, so panels swapped in by htmx work too. */
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-share-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-share-copy"));
    if (!source) return;
    var text = source.value;
    var label = button.textContent;
    function done() {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {});
    } else {
      source.focus();
      source.select();
      try { document.execCommand("copy"); done(); } catch (err) { /* the text stays selected */ }
    }
  });
  document.addEventListener("focusin", function (e) {
    if (e.target.matches && e.target.matches("[data-share-select]")) e.target.select();
  });
})();
