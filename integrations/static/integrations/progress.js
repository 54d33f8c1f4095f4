// Live progress bars of running sync runs: one small JSON request every 1.5 s while any runs; no page reload.
(function () {
  "use strict";
  const EVERY = 1500;

  function update(bar, run) {
    bar.querySelector(".sync-progress span").style.width = run.percent + "%";
    bar.querySelector(".sync-progress-text").textContent = run.text;
    if (!run.running) {
      bar.dataset.running = "0";
      bar.classList.add("sync-finished");
    }
  }

  function poll() {
    const bars = Array.from(document.querySelectorAll('.sync-live[data-running="1"]'));
    if (!bars.length) {
      return;
    }
    const query = bars.map((bar) => "id=" + encodeURIComponent(bar.dataset.run)).join("&");
    fetch(bars[0].dataset.url + "?" + query, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then((response) => (response.ok ? response.json() : {runs: {}}))
      .then((data) => bars.forEach((bar) => data.runs[bar.dataset.run] && update(bar, data.runs[bar.dataset.run])))
      .catch(() => {})
      .finally(() => window.setTimeout(poll, EVERY));
  }

  document.addEventListener("DOMContentLoaded", () => window.setTimeout(poll, EVERY));
})();
