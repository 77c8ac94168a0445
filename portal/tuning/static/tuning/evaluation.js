// A model version's evaluation charts: per-intent precision/recall/F1 bars and confusion-matrix heatmaps, drawn
// with the vendored Chart.js and chartjs-chart-matrix from the page's json_script (#evaluation-data). No inline
// script or style: the CSP allows only this file. Each canvas says data-drawn="true" once drawn. A matrix reads
// like a table: expected intents down, the first at the top; predicted across.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const source = document.getElementById("evaluation-data");
  const data = source && JSON.parse(source.textContent);
  if (!data || typeof Chart === "undefined") return;
  const animation = false; // drawn at once: the figures do not move
  const drawn = (canvas) => ({ id: "drawn", afterRender: () => { canvas.dataset.drawn = "true"; } });

  const bars = document.getElementById("per-intent-chart");
  if (bars) {
    const scores = data.per_intent;
    const datasets = [
      { label: "Precision", data: scores.precision, backgroundColor: "#93c5fd" },
      { label: "Recall", data: scores.recall, backgroundColor: "#60a5fa" },
      { label: "F1", data: scores.f1, backgroundColor: "#1d4ed8" },
    ];
    if (scores.production_f1) {
      datasets.push({ label: "F1 in production", data: scores.production_f1, backgroundColor: "#9ca3af" });
    }
    new Chart(bars, {
      type: "bar",
      data: { labels: data.labels, datasets },
      options: {
        animation, maintainAspectRatio: false,
        scales: { y: { min: 0, max: 1 }, x: { ticks: { autoSkip: false, maxRotation: 60, minRotation: 45 } } },
      },
      plugins: [drawn(bars)],
    });
  }

  const heatmap = (canvas, confusion) => {
    if (!canvas || !confusion) return;
    const labels = confusion.labels;
    const cells = [];
    const rowTotals = confusion.matrix.map((row) => row.reduce((sum, v) => sum + v, 0));
    confusion.matrix.forEach((row, r) => row.forEach((v, c) => {
      cells.push({ x: labels[c], y: labels[r], v, share: rowTotals[r] ? v / rowTotals[r] : 0 });
    }));
    const side = (chart, axis) => {
      const area = chart.chartArea;
      return area ? (axis === "x" ? area.right - area.left : area.bottom - area.top) / labels.length - 1 : 0;
    };
    new Chart(canvas, {
      type: "matrix",
      data: {
        datasets: [{
          label: "messages",
          data: cells,
          // Share of the expected intent's messages: the diagonal is what it read right.
          backgroundColor: (ctx) => {
            const cell = ctx.dataset.data[ctx.dataIndex];
            const alpha = cell && cell.v ? 0.12 + 0.88 * cell.share : 0;
            return cell && cell.x === cell.y ? `rgba(29, 78, 216, ${alpha})` : `rgba(180, 35, 24, ${alpha})`;
          },
          borderColor: "rgba(0, 0, 0, 0.06)",
          borderWidth: 1,
          width: ({ chart }) => side(chart, "x"),
          height: ({ chart }) => side(chart, "y"),
        }],
      },
      options: {
        animation, maintainAspectRatio: false,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: () => "",
              label: (ctx) => {
                const cell = ctx.dataset.data[ctx.dataIndex];
                return `${cell.y} read as ${cell.x}: ${cell.v}`;
              },
            },
          },
        },
        scales: {
          x: { type: "category", labels, offset: true, grid: { display: false },
               ticks: { autoSkip: false, maxRotation: 90, minRotation: 60 },
               title: { display: true, text: "predicted" } },
          // A vertical category axis draws its first label at the bottom: given last first, the first is on top.
          y: { type: "category", labels: [...labels].reverse(), offset: true, grid: { display: false },
               ticks: { autoSkip: false },
               title: { display: true, text: "expected" } },
        },
      },
      plugins: [drawn(canvas)],
    });
  };
  heatmap(document.getElementById("confusion-chart"), data.confusion);
  heatmap(document.getElementById("production-confusion-chart"), data.production_confusion);
});
