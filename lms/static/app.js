// Small progressive enhancements; every page works without them.
document.querySelectorAll("form.js-autosubmit select").forEach(function (select) {
  select.addEventListener("change", function () { select.form.submit(); });
});
document.querySelectorAll("[data-confirm]").forEach(function (element) {
  element.addEventListener("click", function (event) {
    if (!window.confirm(element.getAttribute("data-confirm"))) { event.preventDefault(); }
  });
});
// A copy button copies its target field's text; plain-http intranets have no Clipboard API.
document.querySelectorAll("[data-copy-target]").forEach(function (button) {
  button.addEventListener("click", function () {
    var field = document.getElementById(button.dataset.copyTarget);
    var done = function () {
      var label = button.textContent;
      button.textContent = button.dataset.copied;
      setTimeout(function () { button.textContent = label; }, 2000);
    };
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {
        if (document.execCommand("copy")) { done(); }
      });
    } else if (document.execCommand("copy")) {
      done();
    }
  });
});
// Member picker (templates/org/_picker.html): part of a name or 工号 lists matching members,
// rendered by the server; tapping one fills in the 工号 (or adds it to a list of 工号).
document.querySelectorAll("input[data-member-lookup]").forEach(function (input) {
  var list = document.getElementById(input.getAttribute("aria-controls"));
  var target = input.dataset.memberTarget ? document.getElementById(input.dataset.memberTarget) : null;
  var link = input.parentNode.querySelector(".member-lookup-link");
  var timer = null;
  var asked = 0;
  var active = -1;
  function options() { return list.querySelectorAll("[data-staff-no]"); }
  function close() {
    list.innerHTML = "";
    list.hidden = true;
    active = -1;
    input.setAttribute("aria-expanded", "false");
  }
  function highlight(index) {
    var all = options();
    all.forEach(function (o, i) {
      o.setAttribute("aria-selected", i === index ? "true" : "false");
      o.classList.toggle("active", i === index);
    });
    active = index;
  }
  function pick(option) {
    var staffNo = option.getAttribute("data-staff-no");
    if (target) {
      target.value = (target.value.trim() + " " + staffNo).trim();
      input.value = "";
    } else {
      input.value = staffNo;
    }
    close();
    input.focus();
  }
  function search() {
    var q = input.value.trim();
    if (link) {
      var url = new URL(link.href, window.location.href);
      url.searchParams.set("q", q);
      link.href = url.pathname + url.search;
    }
    if (!q) { close(); return; }
    var mine = ++asked;
    fetch(input.dataset.memberLookup + "?fragment=1&q=" + encodeURIComponent(q), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        if (mine !== asked) { return; }
        list.innerHTML = html;  // server-rendered and escaped by Jinja
        list.hidden = !html.trim();
        active = -1;
        input.setAttribute("aria-expanded", list.hidden ? "false" : "true");
      })
      .catch(function () { /* offline: the field still takes a typed 工号 */ });
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(search, 200);
  });
  input.addEventListener("keydown", function (event) {
    var all = options();
    if (list.hidden || !all.length) { return; }
    if (event.key === "ArrowDown") { event.preventDefault(); highlight((active + 1) % all.length); }
    else if (event.key === "ArrowUp") { event.preventDefault(); highlight((active - 1 + all.length) % all.length); }
    else if (event.key === "Enter" && active >= 0) { event.preventDefault(); pick(all[active]); }
    else if (event.key === "Escape") { close(); }
  });
  list.addEventListener("click", function (event) {
    var option = event.target.closest("[data-staff-no]");
    if (option) { event.preventDefault(); pick(option); }
  });
  document.addEventListener("click", function (event) {
    if (!list.hidden && !list.contains(event.target) && event.target !== input) { close(); }
  });
});
