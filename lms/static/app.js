// Small progressive enhancements; every page works without them.
document.querySelectorAll("form.js-autosubmit select").forEach(function (select) {
  select.addEventListener("change", function () { select.form.submit(); });
});
document.querySelectorAll("[data-confirm]").forEach(function (element) {
  element.addEventListener("click", function (event) {
    if (!window.confirm(element.getAttribute("data-confirm"))) { event.preventDefault(); }
  });
});
