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
    // The charts are drawn without animation, because an animated doughnut
    // looks broken until its sweep ends.
    var options = {
      responsive: true,
      maintainAspectRatio: true,
      aspectRatio: 2,
      animation: false,
    };
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

  function hasData(data) {
    return (data.datasets || []).some(function (dataset) {
      return (dataset.data || []).some(function (value) {
        return value !== 0 && value !== null;
      });
    });
  }

  function showEmpty(canvas) {
    var message = document.createElement("p");
    message.className = "chart-empty";
    message.textContent = "No data for this period.";
    canvas.replaceWith(message);
  }

  // A doughnut with one non-zero slice would show the slice's white border as
  // a seam at 12 o'clock, so that case is drawn without borders.
  function dropSeam(data) {
    data.datasets.forEach(function (dataset) {
      var slices = dataset.data.filter(function (value) {
        return value > 0;
      });
      if (slices.length === 1) {
        dataset.borderWidth = 0;
      }
    });
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chartSource);
    if (source === null) {
      return;
    }
    var type = canvas.dataset.chartType;
    var data = JSON.parse(source.textContent);
    if (!hasData(data)) {
      showEmpty(canvas);
      return;
    }
    if (type === "doughnut") {
      dropSeam(data);
    }
    new window.Chart(canvas, {
      type: type,
      data: data,
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
