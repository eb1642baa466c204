// brandguard overview page: refresh the figures in place, and save a chart as PNG.
// No inline script or handler anywhere (the dashboard's Content-Security-Policy forbids them);
// without JavaScript the page still works (a plain form, links, SVG downloads).
"use strict";

(() => {
  const body = document.getElementById("overview-body");
  const status = document.getElementById("ov-status");

  // Refresh: fetch the same overview (?partial=1 returns the body only) and swap it in.
  // The server escapes everything it renders, so the fragment is trusted same-origin HTML.
  async function refresh() {
    if (!body || document.hidden) return;
    try {
      const response = await fetch(body.dataset.refreshUrl, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (response.redirected || !response.ok) throw new Error(`HTTP ${response.status}`);
      body.innerHTML = await response.text();
      status.classList.remove("stale");
      status.textContent = `Updated ${new Date().toLocaleTimeString()}; refreshes every ${body.dataset.refreshSeconds} s.`;
    } catch (error) {
      status.classList.add("stale");
      status.textContent = `Could not refresh (${error.message}); retrying.`;
    }
  }
  if (body) {
    const seconds = Math.max(10, Number(body.dataset.refreshSeconds) || 60);
    window.setInterval(refresh, seconds * 1000);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  }

  // The custom range fields only matter for "custom": picking a date selects it.
  const form = document.getElementById("ov-filters");
  if (form) {
    form.querySelectorAll("input[type=datetime-local]").forEach((input) => {
      input.addEventListener("change", () => {
        const custom = form.querySelector("input[name=range][value=custom]");
        if (custom) custom.checked = true;
      });
    });
  }

  // PNG: draw the chart's same-origin SVG file into a canvas at twice its size, then save it.
  async function savePng(button) {
    const image = new Image();
    image.decoding = "async";
    image.src = button.dataset.chartUrl;
    await image.decode();
    const scale = 2;
    const canvas = document.createElement("canvas");
    canvas.width = image.naturalWidth * scale;
    canvas.height = image.naturalHeight * scale;
    const context = canvas.getContext("2d");
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = button.dataset.file || "chart.png";
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.dl-png");
    if (!button) return;
    event.preventDefault();
    button.disabled = true;
    savePng(button)
      .catch((error) => { button.title = `PNG failed: ${error.message}`; })
      .finally(() => { button.disabled = false; });
  });
})();
