// Quiz page: save each answer as it is given (with retries) and count down from the server's
// deadline. Without this script every navigation button still saves the answer on screen.
(function () {
  "use strict";
  var form = document.querySelector("form.js-quiz");
  if (!form) { return; }
  var status = document.getElementById("save-status");
  var token = form.querySelector("input[name=csrf_token]").value;
  var position = parseInt(form.dataset.position, 10);
  var seq = parseInt(form.dataset.seq, 10) || 0;
  var debounce = null;

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

  function markAnswered(answered) {
    var button = form.querySelector(".question-palette [data-position='" + position + "']");
    if (button) { button.dataset.answered = answered ? "1" : "0"; }
    countUnanswered();
  }

  // The submit panel's count follows every save, not only the page as it was rendered.
  function countUnanswered() {
    var note = document.getElementById("unanswered");
    if (!note) { return; }
    var left = form.querySelectorAll(".question-palette [data-answered='0']").length;
    note.textContent = left ? note.dataset.msgSome.replace("%(n)d", left) : note.dataset.msgNone;
  }

  function send(mySeq, response, tries) {
    say(form.dataset.msgSaving);
    fetch(form.dataset.autosave, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ position: position, response: response, seq: mySeq })
    }).then(function (r) {
      return r.json().then(function (data) { return { r: r, data: data }; });
    }).then(function (result) {
      if (result.r.ok && result.data.ok) {
        if (mySeq === seq) {
          // The server formats the time in the plant's zone; the browser's zone may differ.
          say(form.dataset.msgSaved.replace("%(time)s", result.data.saved_time || ""));
          markAnswered(response !== null);
        }
      } else if (result.r.status >= 500 || result.r.status === 429) {
        retry(mySeq, response, tries);
      } else {
        say(result.data.message || "");
        if (result.data.finished) { window.location.reload(); }
      }
    }).catch(function () { retry(mySeq, response, tries); });
  }

  function retry(mySeq, response, tries) {
    if (mySeq !== seq) { return; }  // a newer answer is on its way; this one no longer matters
    say(form.dataset.msgRetry);
    window.setTimeout(function () { send(mySeq, response, tries + 1); },
      Math.min(15000, 1000 * Math.pow(2, tries)));
  }

  function save() {
    seq += 1;
    send(seq, collect(), 0);
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "choice") { save(); }
  });
  form.addEventListener("input", function (event) {
    if (event.target.name !== "blank") { return; }
    window.clearTimeout(debounce);
    debounce = window.setTimeout(save, 600);
  });
  form.addEventListener("focusout", function (event) {
    if (event.target.name === "blank" && debounce) {
      window.clearTimeout(debounce);
      debounce = null;
      save();
    }
  });

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
