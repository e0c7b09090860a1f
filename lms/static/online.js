// Online study: report the playback position every 10 s while the video plays in a visible
// tab; the server credits only the real time that passed. Hidden or paused: no heartbeats.
(function () {
  "use strict";
  var video = document.getElementById("online-video");
  if (!video || !video.dataset.heartbeat) return;
  var INTERVAL = 10000;
  var timer = null;
  var bar = document.getElementById("online-progress");
  var percent = document.getElementById("online-percent");
  var status = document.getElementById("online-status");
  var resume = parseFloat(video.dataset.resume || "0");

  function show(state) {
    if (bar) bar.value = state.percent;
    if (percent) percent.textContent = state.percent;
    if (status) status.textContent = "";
    if (state.credited && !video.dataset.credited) {
      video.dataset.credited = "1";
      window.location.reload();
    }
  }

  var inflight = false;
  var again = false;

  // One heartbeat at a time: a beat asked for while one is on its way goes after it.
  function beat() {
    if (document.hidden) return;
    if (inflight) { again = true; return; }
    inflight = true;
    fetch(video.dataset.heartbeat, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": video.dataset.csrf },
      body: JSON.stringify({ position: video.currentTime || 0 }),
    })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (state.error) { if (status) status.textContent = state.error; } else { show(state); }
      })
      .catch(function () { if (status) status.textContent = video.dataset.error; })
      .then(function () {
        inflight = false;
        if (again) { again = false; beat(); }
      });
  }

  function start() {
    if (timer !== null || document.hidden) return;
    beat();
    timer = window.setInterval(beat, INTERVAL);
  }

  function stop(final) {
    if (timer !== null) { window.clearInterval(timer); timer = null; }
    if (final) beat();
  }

  video.addEventListener("loadedmetadata", function () {
    if (resume > 0 && resume < video.duration - 3) video.currentTime = resume;
  });
  video.addEventListener("play", start);
  video.addEventListener("playing", start);
  video.addEventListener("pause", function () { stop(true); });
  video.addEventListener("ended", function () { stop(true); });
  video.addEventListener("seeked", function () { if (timer !== null) beat(); });
  video.addEventListener("ratechange", function () { if (video.playbackRate !== 1) video.playbackRate = 1; });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { stop(false); video.pause(); }
  });
})();
