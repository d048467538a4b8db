// Analytics page: charts from the JSON data island, sortable breakdown tables, and the
// filter form's small conveniences. Runs on first load and after every HTMX swap.
(function () {
  "use strict";
  var charts = [];
  var PALETTE = ["#1e88e5", "#43a047", "#fb8c00", "#8e24aa", "#00897b", "#e53935", "#6d4c41", "#546e7a"];

  function readData() {
    var island = document.getElementById("analytics-chart-data");
    if (!island) return null;
    try { return JSON.parse(island.textContent); } catch (e) { return null; }
  }

  function destroyCharts() {
    charts.forEach(function (chart) { chart.destroy(); });
    charts = [];
  }

  function makeChart(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas || typeof window.Chart === "undefined") return;
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: "index", intersect: false } }, config.options || {});
    charts.push(new window.Chart(canvas, config));
  }

  function drawCharts() {
    destroyCharts();
    var data = readData();
    if (!data) return;
    makeChart("chart-requests", {
      type: "bar",
      data: { labels: data.labels, datasets: [
        { label: "Attempts", data: data.attempts, backgroundColor: "#90caf9" },
        { label: "Failed", data: data.failures, backgroundColor: "#e57373" }
      ] },
      options: { scales: { y: { beginAtZero: true } } }
    });
    makeChart("chart-cost", {
      type: "bar",
      data: { labels: data.labels, datasets: data.cost.map(function (series, index) {
        return { label: series.label, data: series.data, backgroundColor: PALETTE[index % PALETTE.length] };
      }) },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true,
        ticks: { callback: function (value) { return "$" + value; } } } } }
    });
    makeChart("chart-latency", {
      type: "line",
      data: { labels: data.labels, datasets: [
        { label: "p50 ms", data: data.p50, borderColor: "#43a047", backgroundColor: "#43a047", spanGaps: true },
        { label: "p95 ms", data: data.p95, borderColor: "#fb8c00", backgroundColor: "#fb8c00", spanGaps: true }
      ] },
      options: { scales: { y: { beginAtZero: true } } }
    });
  }

  function sortTable(button) {
    var th = button.closest("th");
    var table = th.closest("table");
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = button.dataset.numeric === "true";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("thead th").forEach(function (cell) { cell.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).filter(function (row) { return row.cells.length > index; });
    rows.sort(function (a, b) {
      var x = a.cells[index].dataset.sort || "", y = b.cells[index].dataset.sort || "";
      var order = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("table.sortable .sort-button");
    if (button) sortTable(button);
  });

  document.addEventListener("change", function (event) {
    // Typing a date means a custom range.
    if (event.target.id === "filter-from" || event.target.id === "filter-to") {
      var preset = document.getElementById("filter-preset");
      if (preset) preset.value = "custom";
    }
  }, true);

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      // Bad filters answer 400 with a message fragment: show it instead of dropping it.
      if (event.detail.xhr.status === 400 && event.detail.target &&
          event.detail.target.id === "analytics-results") {
        event.detail.shouldSwap = true;
        event.detail.isError = false;
      }
    });
    document.body.addEventListener("htmx:afterSettle", function (event) {
      if (event.detail.target && event.detail.target.id === "analytics-results") drawCharts();
    });
  });
})();
