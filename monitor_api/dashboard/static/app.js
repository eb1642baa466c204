// brandguard dashboard: tiny progressive enhancements (every page works without JavaScript).
// Disable a form's buttons once it is submitted so an action is not sent twice.
document.addEventListener("submit", (event) => {
  const form = event.target;
  window.setTimeout(() => form.querySelectorAll("button").forEach((b) => { b.disabled = true; }), 0);
});
