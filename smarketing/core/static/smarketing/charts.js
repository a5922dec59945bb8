// Draws the charts of a page from data the server put in a JSON script tag (no inline script: the CSP allows
// none). Each <canvas data-chart="NAME"> takes the entry NAME of #report-charts:
//   {type: "bar"|"line", labels: [...], datasets: [{label, data: [...]}], horizontal?: bool, percent?: bool}
// Chart.js (vendored by scripts/fetch_chartjs.sh) draws it; the page carries a table alternative for each chart
// and an aria-label on the canvas, so the numbers never live only in pixels.
(function () {
  "use strict";
  var COLORS = ["#4f46e5", "#b43c0b", "#18794d", "#1864ab", "#8a5a00"];

  function draw() {
    var source = document.getElementById("report-charts");
    if (!source || typeof window.Chart === "undefined") return;
    var all = JSON.parse(source.textContent);
    var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec = all[canvas.dataset.chart];
      if (!spec || canvas.dataset.drawn) return;
      canvas.dataset.drawn = "1";
      var datasets = spec.datasets.map(function (set, i) {
        var color = COLORS[i % COLORS.length];
        return { label: set.label, data: set.data, backgroundColor: color, borderColor: color, borderRadius: 3 };
      });
      var valueAxis = { beginAtZero: true, ticks: { precision: 0 } };
      if (spec.percent) {
        valueAxis.ticks.callback = function (v) { return v + " %"; };
      }
      new window.Chart(canvas, {
        type: spec.type || "bar",
        data: { labels: spec.labels, datasets: datasets },
        options: {
          indexAxis: spec.horizontal ? "y" : "x",
          responsive: true,
          maintainAspectRatio: false,
          animation: reduceMotion ? false : { duration: 300 },
          plugins: { legend: { display: datasets.length > 1, position: "bottom" } },
          scales: spec.horizontal ? { x: valueAxis } : { y: valueAxis, x: { ticks: { maxRotation: 0, autoSkip: true } } },
        },
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
