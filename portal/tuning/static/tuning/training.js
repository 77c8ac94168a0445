// The retrain page: the latest training's progress, live over the manager socket (/ws/manager/, frames in
// docs/protocol.md). The page is rendered with the state at load; the socket's first frame is the latest training
// again (the re-sync after a reconnect), then every change. A finished training reloads the page for its list.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const panel = document.querySelector("[data-role=training]");
  if (!panel) return;
  const part = (role) => panel.querySelector(`[data-role=${role}]`);
  const labels = JSON.parse(document.getElementById("training-stage-labels").textContent);
  const STATUS = { queued: "Queued", running: "Running", succeeded: "Succeeded", failed: "Failed" };
  const PING_MS = 25000;
  let delay = 1000;

  function show(frame) {
    const shown = panel.dataset.trainingId;
    const wasActive = panel.dataset.status === "queued" || panel.dataset.status === "running";
    // Another training than the one shown: only a newer one takes the panel.
    if (shown && Number(frame.id) < Number(shown)) return;
    panel.hidden = false;
    panel.dataset.trainingId = String(frame.id);
    panel.dataset.status = frame.status;
    part("training-id").textContent = `#${frame.id}`;
    part("training-status").textContent = STATUS[frame.status] || frame.status;
    part("training-progress").value = frame.progress;
    part("training-stage").textContent = labels[frame.stage] || "";
    part("training-percent").textContent = `${Math.round(frame.progress * 100)} %`;
    part("training-error").textContent = frame.error;
    part("training-error").hidden = !frame.error;
    part("training-log").textContent = frame.log_tail;
    part("training-log").hidden = !frame.log_tail;
    const finished = frame.status === "succeeded" || frame.status === "failed";
    if (finished && (wasActive || String(frame.id) !== shown)) window.location.reload();
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + window.location.host + panel.dataset.socketPath);
    let ping = null;
    ws.addEventListener("open", () => {
      delay = 1000;
      ping = setInterval(() => ws.send(JSON.stringify({ type: "ping" })), PING_MS);
    });
    ws.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "training.updated") show(frame);
    });
    ws.addEventListener("close", (event) => {
      clearInterval(ping);
      if (event.code === 4403) return; // not (or no longer) a manager: reconnecting would not help
      setTimeout(connect, delay / 2 + Math.random() * delay / 2);
      delay = Math.min(delay * 2, 30000);
    });
  }
  connect();
});
