// Draws the report charts from the JSON that the page embeds with json_script.
// Each <canvas data-chart-source="ID"> names the <script type="application/json">
// element with its data; data-chart-type is the Chart.js chart type, and
// data-chart-unit="cents" marks amounts in integer cents, shown as dollars.
(function () {
  "use strict";

  var dollars = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

  function formatCents(value) {
    return dollars.format(value / 100);
  }

  function optionsFor(type, unit) {
    var options = { responsive: true, maintainAspectRatio: true, aspectRatio: 2 };
    if (type === "doughnut") {
      options.plugins = { legend: { position: "right" } };
      return options;
    }
    var valueTicks = { precision: 0 };
    if (unit === "cents") {
      valueTicks = { callback: formatCents };
      options.plugins = {
        tooltip: {
          callbacks: {
            label: function (context) {
              return context.dataset.label + ": " + formatCents(context.parsed.y);
            },
          },
        },
      };
    }
    options.scales = { y: { beginAtZero: true, ticks: valueTicks } };
    return options;
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chartSource);
    if (source === null) {
      return;
    }
    var type = canvas.dataset.chartType;
    new window.Chart(canvas, {
      type: type,
      data: JSON.parse(source.textContent),
      options: optionsFor(type, canvas.dataset.chartUnit),
    });
  }

  // The tables carry the same figures, so the page stays usable if the
  // vendored Chart.js failed to load.
  if (typeof window.Chart === "undefined") {
    return;
  }
  document.querySelectorAll("canvas[data-chart-source]").forEach(draw);
})();
