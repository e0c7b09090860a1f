// Quiz page: keep every answer in the browser (localStorage) before sending it, send unsent
// answers in order with retries when the network comes back, restore them after a reload, and
// count down from the server's deadline. Without this script every navigation button still
// saves the answer on screen; without localStorage (private mode, storage full) the script
// saves the question on screen as before.
(function () {
  "use strict";
  var form = document.querySelector("form.js-quiz");
  if (!form) { return; }
  var status = document.getElementById("save-status");
  var queueNote = document.getElementById("queue-status");
  var token = form.querySelector("input[name=csrf_token]").value;
  var position = parseInt(form.dataset.position, 10);
  var prefix = "lms-quiz:" + form.dataset.attempt + ":";
  var debounce = null, timer = null, busy = false, failures = 0, submitWaiting = false;
  var savedTime = null;
  var pending = {};  // position -> {seq, response, t}: changes the server has not acknowledged

  var store = (function () {
    try {
      var probe = prefix + "probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (e) { return null; }
  }());

  function put(pos, entry) {
    if (!store) { return; }
    try { store.setItem(prefix + pos, JSON.stringify(entry)); } catch (e) { /* full: memory only */ }
  }
  function drop(pos) {
    delete pending[pos];
    if (store) { try { store.removeItem(prefix + pos); } catch (e) { /* ignore */ } }
  }
  function clearAttempt() {
    Object.keys(pending).forEach(drop);
    if (!store) { return; }
    try {
      for (var i = store.length - 1; i >= 0; i--) {
        var key = store.key(i);
        if (key && key.indexOf(prefix) === 0) { store.removeItem(key); }
      }
    } catch (e) { /* ignore */ }
  }

  function paletteButton(pos) {
    return form.querySelector(".question-palette [data-position='" + pos + "']");
  }
  function serverSeq(pos) {
    var button = paletteButton(pos);
    return button ? parseInt(button.dataset.seq, 10) || 0 : 0;
  }

  // What this browser kept: entries newer than the server's are restored and re-sent; the rest
  // (the server has them or something newer) are dropped. Old attempts' leftovers are swept.
  if (store) {
    try {
      var week = Date.now() - 7 * 24 * 3600 * 1000;
      for (var i = store.length - 1; i >= 0; i--) {
        var key = store.key(i);
        if (!key || key.indexOf("lms-quiz:") !== 0) { continue; }
        var entry = null;
        try { entry = JSON.parse(store.getItem(key)); } catch (e) { entry = null; }
        if (key.indexOf(prefix) === 0) {
          var pos = parseInt(key.slice(prefix.length), 10);
          if (entry && paletteButton(pos) && entry.seq > serverSeq(pos)) { pending[pos] = entry; }
          else { store.removeItem(key); }
        } else if (!entry || !(entry.t > week)) { store.removeItem(key); }
      }
    } catch (e) { /* ignore */ }
  }

  function say(text) { if (status) { status.textContent = text; } }

  function collect() {
    var blanks = form.querySelectorAll("input[name=blank]");
    if (blanks.length) {
      var texts = Array.prototype.map.call(blanks, function (i) { return i.value; });
      return texts.some(function (t) { return t.trim(); }) ? { blanks: texts } : null;
    }
    var chosen = Array.prototype.filter.call(
      form.querySelectorAll("input[name=choice]"), function (i) { return i.checked; }
    ).map(function (i) { return parseInt(i.value, 10); });
    return chosen.length ? { choices: chosen } : null;
  }

  function restore(response) {
    var blanks = form.querySelectorAll("input[name=blank]");
    Array.prototype.forEach.call(blanks, function (input, n) {
      input.value = response && response.blanks && response.blanks[n] ? response.blanks[n] : "";
    });
    var choices = (response && response.choices) || [];
    Array.prototype.forEach.call(form.querySelectorAll("input[name=choice]"), function (input) {
      input.checked = choices.indexOf(parseInt(input.value, 10)) !== -1;
    });
  }
  if (pending[position]) { restore(pending[position].response); }

  function markAnswered(pos, answered) {
    var button = paletteButton(pos);
    if (button) { button.dataset.answered = answered ? "1" : "0"; }
  }
  Object.keys(pending).forEach(function (pos) { markAnswered(pos, pending[pos].response !== null); });

  // The submit panel's count follows every save, not only the page as it was rendered.
  function countUnanswered() {
    var note = document.getElementById("unanswered");
    if (!note) { return; }
    var left = form.querySelectorAll(".question-palette [data-answered='0']").length;
    note.textContent = left ? note.dataset.msgSome.replace("%(n)d", left) : note.dataset.msgNone;
  }

  // The marks say only what the server acknowledged.
  function render() {
    var unsent = Object.keys(pending);
    Array.prototype.forEach.call(form.querySelectorAll(".question-palette [data-position]"),
      function (button) { button.dataset.unsaved = pending[button.dataset.position] ? "1" : "0"; });
    if (pending[position]) {
      say(failures || !navigator.onLine ? form.dataset.msgOffline : form.dataset.msgSaving);
    } else if (savedTime !== null) {
      say(form.dataset.msgSaved.replace("%(time)s", savedTime));
    }
    if (queueNote) {
      var text = "";
      if (unsent.length) {
        text = submitWaiting ? queueNote.dataset.msgSubmitting
          : queueNote.dataset.msgUnsent.replace("%(n)s", unsent.length);
      }
      queueNote.textContent = text;
      queueNote.classList.toggle("d-none", !text);
    }
    countUnanswered();
  }

  function oldest() {
    var best = null;
    Object.keys(pending).forEach(function (pos) {
      var e = pending[pos];
      if (best === null || e.t < pending[best].t || (e.t === pending[best].t && e.seq < pending[best].seq)) {
        best = pos;
      }
    });
    return best;
  }

  function later() {
    failures += 1;
    window.clearTimeout(timer);
    timer = window.setTimeout(pump, Math.min(15000, 1000 * Math.pow(2, failures - 1)));
  }

  // One save at a time, oldest change first; a failure waits (longer each time) or for 'online'.
  function pump() {
    if (busy) { return; }
    var pos = oldest();
    if (pos === null) {
      render();
      if (submitWaiting) { clearAttempt(); submitForm.submit(); }
      return;
    }
    if (!navigator.onLine) { render(); return; }
    var entry = pending[pos];
    busy = true;
    render();
    fetch(form.dataset.autosave, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,  // a save under way when the trainee moves on still arrives
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ position: parseInt(pos, 10), response: entry.response, seq: entry.seq })
    }).then(function (r) {
      return r.json().then(function (data) { return { r: r, data: data }; });
    }).then(function (result) {
      busy = false;
      var data = result.data || {};
      if (result.r.ok && data.ok) {
        failures = 0;
        var button = paletteButton(pos);
        if (button && data.seq > serverSeq(pos)) { button.dataset.seq = data.seq; }
        if (pending[pos] && pending[pos].seq <= data.seq) { drop(pos); }
        // The server formats the time in the plant's zone; the browser's zone may differ.
        if (String(pos) === String(position)) { savedTime = data.saved_time || ""; }
        pump();
      } else if (result.r.status >= 500 || result.r.status === 429) {
        later();
        render();
      } else if (data.finished) {
        clearAttempt();
        say(data.message || "");
        window.location.reload();
      } else if (data.ok === false) {  // refused for good (bad answer): sending again won't help
        drop(pos);
        say(data.message || "");
        pump();
      } else {
        later();
        render();
      }
    }).catch(function () { busy = false; later(); render(); });
  }

  function record() {
    var seq = Math.max(serverSeq(position), pending[position] ? pending[position].seq : 0) + 1;
    pending[position] = { seq: seq, response: collect(), t: Date.now() };
    put(position, pending[position]);
    markAnswered(position, pending[position].response !== null);
    render();
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "choice") { record(); pump(); }
  });
  form.addEventListener("input", function (event) {
    if (event.target.name !== "blank") { return; }
    record();
    window.clearTimeout(debounce);
    debounce = window.setTimeout(function () { debounce = null; pump(); }, 600);
  });
  form.addEventListener("focusout", function (event) {
    if (event.target.name === "blank" && debounce) {
      window.clearTimeout(debounce);
      debounce = null;
      pump();
    }
  });
  window.addEventListener("online", function () { failures = 0; window.clearTimeout(timer); pump(); });
  window.addEventListener("offline", render);

  // With the answers kept here, moving between questions is a plain page load (the queue sends
  // them from any page); offline, the trainee stays on the page instead of an error page.
  if (store) {
    form.addEventListener("click", function (event) {
      var button = event.target.closest("button[name=go]");
      if (!button) { return; }
      event.preventDefault();
      if (!navigator.onLine) { say(form.dataset.msgNoNav); return; }
      var go = button.value, total = form.querySelectorAll(".question-palette [data-position]").length;
      var target = go === "next" ? position + 1 : go === "prev" ? position - 1
        : go === "submit" ? position : parseInt(go, 10) || position;
      target = Math.min(Math.max(target, 1), total);
      window.location.href = form.dataset.take + "?q=" + target + (go === "submit" ? "&confirm=1" : "");
    });
  }

  // Submitting first sends what is unsent; offline it waits and submits once they are saved.
  var submitForm = document.getElementById("submit-form");
  if (submitForm) {
    submitForm.addEventListener("submit", function (event) {
      if (!Object.keys(pending).length && navigator.onLine) { clearAttempt(); return; }
      event.preventDefault();
      submitWaiting = true;
      failures = 0;
      render();
      pump();
    });
  }

  render();
  pump();

  var clock = document.getElementById("countdown");
  if (clock) {
    var deadline = Date.parse(clock.dataset.deadline);
    var offset = Date.parse(clock.dataset.now) - Date.now();  // trust the server's clock
    var tick = function () {
      var left = Math.floor((deadline - (Date.now() + offset)) / 1000);
      if (left <= 0) {
        clock.textContent = "0:00";
        say(form.dataset.msgExpired);
        window.location.href = clock.dataset.expiredUrl;
        return;
      }
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      clock.textContent = (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(s).padStart(2, "0");
      window.setTimeout(tick, 1000);
    };
    tick();
  }
})();
