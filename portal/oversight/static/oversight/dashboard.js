// The managers' dashboard charts (Chart.js, vendored): each <canvas data-chart="name"> draws charts[name] from
// the page's json_script. No inline script or style: the portal's CSP allows neither.
(function () {
  "use strict";

  const BLUE = "#2f6fdf", GREEN = "#1f8a5b", ORANGE = "#d97706", RED = "#c62828", GREY = "#8a94a6";
  const BAND = "rgba(47, 111, 223, 0.15)";

  const percent = (value) => (value === null || value === undefined ? null : Math.round(value * 1000) / 10);
  const minutes = (seconds) => (seconds === null || seconds === undefined ? null : Math.round(seconds / 6) / 10);

  const common = { responsive: true, maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false } };

  const builders = {
    days: (d) => ({
      type: "line",
      data: {
        labels: d.labels,
        datasets: [
          { type: "bar", label: "Conversations", data: d.conversations, backgroundColor: "rgba(138, 148, 166, 0.35)", yAxisID: "count" },
          { label: "Containment %", data: d.containment.map(percent), borderColor: GREEN, pointRadius: 0, yAxisID: "y" },
        ],
      },
      options: {
        ...common,
        scales: {
          y: { min: 0, max: 100, title: { display: true, text: "containment %" } },
          count: { axis: "y", position: "right", beginAtZero: true, grid: { drawOnChartArea: false } },
        },
      },
    }),
    reasons: (d) => ({
      type: "bar",
      data: { labels: d.labels, datasets: [{ label: "% of conversations", data: d.rates.map(percent), backgroundColor: ORANGE }] },
      options: { ...common, indexAxis: "y" },
    }),
    human: (d) => ({
      type: "bar",
      data: {
        labels: d.labels,
        datasets: [
          { label: "p50", data: d.p50.map(minutes), backgroundColor: BLUE },
          { label: "p90", data: d.p90.map(minutes), backgroundColor: GREY },
        ],
      },
      // p90 waits overnight run to hours while p50 is minutes: a log scale shows both.
      options: { ...common, scales: { y: { type: "logarithmic", title: { display: true, text: "minutes" } } } },
    }),
    queue: (d) => ({
      type: "bar",
      data: {
        labels: d.labels,
        datasets: [
          { label: "Waiting, mean", data: d.mean, backgroundColor: BLUE },
          { type: "line", label: "Waiting, most", data: d.most, borderColor: RED, pointRadius: 2 },
        ],
      },
      options: { ...common, scales: { y: { beginAtZero: true } } },
    }),
    intents: (d) => ({
      type: "bar",
      data: {
        labels: d.labels,
        datasets: [
          { label: "Answered by the bot", data: d.answered, backgroundColor: GREEN, stack: "volume" },
          { label: "Handed off", data: d.handed_off, backgroundColor: ORANGE, stack: "volume" },
          { label: "Unneeded handoffs", data: d.unneeded, backgroundColor: GREY, stack: "labels" },
          { label: "Missed escalations", data: d.missed, backgroundColor: RED, stack: "labels" },
        ],
      },
      options: { ...common, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
    }),
    // Containment and wrong answers as the threshold moves (wrong answers on their own axis: a few per cent
    // beside tens); today's threshold as a vertical line.
    replay: (d) => {
      const at = (values) => d.thresholds.map((x, i) => ({ x, y: percent(values[i]) }));
      const top = Math.max(100, ...d.containment.map(percent).filter((v) => v !== null));
      return {
        type: "scatter",
        data: {
          datasets: [
            { label: "Answered by the bot %", data: at(d.containment), borderColor: GREEN, backgroundColor: GREEN, showLine: true },
            { label: "Answered wrongly % (right axis)", data: at(d.wrong), borderColor: RED, backgroundColor: RED, showLine: true, yAxisID: "wrong" },
            { label: `Today (${d.today})`, data: [{ x: d.today, y: 0 }, { x: d.today, y: top }], borderColor: GREY, borderDash: [6, 4], pointRadius: 0, showLine: true },
          ],
        },
        options: { ...common, interaction: { mode: "nearest", intersect: false }, scales: { x: { min: 0, max: 1, title: { display: true, text: "fallback threshold" } }, y: { min: 0, max: 100, title: { display: true, text: "answered, % of labelled" } }, wrong: { axis: "y", position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "wrong, % of labelled" } } } },
      };
    },
    // A drift measure's daily series beside its trailing baseline's band; days past the band are marked.
    drift: (d) => ({
      type: "line",
      data: {
        labels: d.labels,
        datasets: [
          { label: "Baseline, low", data: d.low, borderWidth: 0, pointRadius: 0, fill: false },
          { label: "Baseline band", data: d.high, borderWidth: 0, pointRadius: 0, backgroundColor: BAND, fill: "-1" },
          {
            label: d.title,
            data: d.value,
            borderColor: BLUE,
            pointRadius: d.alert.map((a) => (a ? 5 : 0)),
            pointBackgroundColor: RED,
          },
        ],
      },
      options: { ...common, plugins: { legend: { labels: { filter: (item) => item.text !== "Baseline, low" } } } },
    }),
  };

  function draw() {
    const source = document.getElementById("oversight-charts");
    if (!source || typeof Chart === "undefined") return;
    const charts = JSON.parse(source.textContent);
    for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
      const [kind, key] = canvas.dataset.chart.split(":");
      const data = key ? charts[kind][key] : charts[kind];
      if (!data || !builders[kind]) continue;
      new Chart(canvas, builders[kind](data));
      canvas.dataset.rendered = "true";
    }
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
