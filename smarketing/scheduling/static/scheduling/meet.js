/* The public booking page: detect the visitor's time zone once, submit the zone picker on change, and, inside
   the embed's iframe, tell the host page our height. Everything works without it (the zone stays UTC). */
(function () {
  "use strict";
  var select = document.getElementById("meet-tz");
  if (select) {
    var form = select.form;
    var submit = form.querySelector("[data-tz-submit]");
    if (submit) submit.hidden = true;
    select.addEventListener("change", function () { form.submit(); });
    if (select.getAttribute("data-tz-given") !== "1") {
      var detected = "";
      try { detected = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { detected = ""; }
      var known = Array.prototype.some.call(select.options, function (o) { return o.value === detected; });
      if (detected && known && detected !== select.value) {
        select.value = detected;
        form.submit();
      }
    }
  }
  if (window.parent !== window && document.body.classList.contains("meet-embed")) {
    var last = 0;
    var report = function () {
      var height = document.documentElement.scrollHeight;
      if (height !== last) {
        last = height;
        window.parent.postMessage({ smarketingMeet: true, height: height }, "*");
      }
    };
    window.addEventListener("load", report);
    window.addEventListener("resize", report);
    setInterval(report, 500);
  }
})();
