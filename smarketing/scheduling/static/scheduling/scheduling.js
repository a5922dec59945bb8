/* Copy buttons: data-copy="text" or data-copy-from="element id"; says "Copied" for a moment. */
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-copy], [data-copy-from]");
    if (!button) return;
    var text = button.getAttribute("data-copy");
    if (text === null) {
      var source = document.getElementById(button.getAttribute("data-copy-from"));
      text = source ? (source.value || source.textContent) : "";
    }
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      var status = document.getElementById("a11y-status");
      if (status) status.textContent = "Copied to the clipboard.";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () {});
    } else {
      var area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy"); done(); } catch (err) { /* the text stays selectable */ }
      document.body.removeChild(area);
    }
  });
})();
