// The camera capture: a photo, then a short video of the challenge's movements, uploaded to the
// API with the portal session and its CSRF token. Without a camera (or JavaScript) the plain
// upload form on the same page does the same job. The swap without enrolment uses it too
// (templates/biometrics/_camera.html), posting the chosen template with the files.
(function () {
  "use strict";

  // File inputs (templates/consent/_field.html): show the chosen file's name beside the
  // page-language button. Loaded by every page with a file input, camera or not.
  Array.prototype.forEach.call(document.querySelectorAll(".field-file input[type=file]"),
    function (input) {
      var state = document.getElementById(input.id + "_file");
      var name = state && state.querySelector(".file-name");
      if (!name) return;
      function show() {
        var names = Array.prototype.map.call(input.files || [], function (file) {
          return file.name;
        });
        name.textContent = names.join(", ");
        state.classList.toggle("has-name", names.length > 0);
      }
      input.addEventListener("change", show);
      show(); // a file kept by the browser on going back
    });
})();

(function () {
  "use strict";

  // The challenge's steps carry their windows: each prompt shows at its "start" (seconds since
  // the recording began) until its "end"; the server checks each movement begins in between.
  var COUNTDOWN = 3;

  var section = document.getElementById("camera");
  if (!section) return;
  var canRecord = navigator.mediaDevices && navigator.mediaDevices.getUserMedia &&
    window.MediaRecorder && window.fetch && window.FormData;
  if (!canRecord) return; // the form below stays the way to enrol

  var data = section.dataset;
  var video = document.getElementById("preview");
  var prompt = document.getElementById("prompt");
  var countdown = document.getElementById("countdown");
  var statusLine = document.getElementById("status");
  var start = document.getElementById("start");
  var challenge = {
    id: data.challenge,
    steps: JSON.parse(data.steps),
    recordSeconds: parseFloat(data.recordSeconds)
  };
  var stream = null;
  section.hidden = false;

  function text(name) { return data["text" + name] || ""; }
  function label(step) { return section.getAttribute("data-label-" + step) || step; }
  function sleep(seconds) { return new Promise(function (done) { setTimeout(done, seconds * 1000); }); }
  function say(message) { prompt.textContent = message; }

  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function pickType() {
    var types = ["video/webm;codecs=vp8", "video/webm;codecs=vp9", "video/webm", "video/mp4"];
    for (var i = 0; i < types.length; i++) {
      if (MediaRecorder.isTypeSupported(types[i])) return types[i];
    }
    return "";
  }

  function openCamera() {
    if (stream) return Promise.resolve(stream);
    var wanted = { video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } }, audio: false };
    return navigator.mediaDevices.getUserMedia(wanted).then(function (opened) {
      stream = opened;
      video.srcObject = opened;
      return opened;
    });
  }

  async function count() {
    for (var n = COUNTDOWN; n > 0; n--) {
      countdown.textContent = String(n);
      await sleep(1);
    }
    countdown.textContent = "";
  }

  function takePhoto() {
    var canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    // The stream, not the mirrored preview: the photo is as the camera sees the face.
    canvas.getContext("2d").drawImage(video, 0, 0);
    return new Promise(function (done) { canvas.toBlob(done, "image/jpeg", 0.92); });
  }

  async function record() {
    var type = pickType();
    var recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
    var chunks = [];
    recorder.ondataavailable = function (event) { if (event.data.size) chunks.push(event.data); };
    var stopped = new Promise(function (done) { recorder.onstop = done; });
    var started = new Promise(function (done) { recorder.onstart = done; });
    recorder.start();
    await started;
    // Times count from the recording's start, as the server reads the video's timestamps.
    var zero = performance.now();
    function until(seconds) { return sleep(Math.max(0, seconds - (performance.now() - zero) / 1000)); }
    section.classList.add("recording");
    say(text("Ready"));
    for (var i = 0; i < challenge.steps.length; i++) {
      var step = challenge.steps[i];
      await until(step.start);
      say((i + 1) + ". " + label(step.step));
      await until(step.end);
      say(text("Ready"));
    }
    await until(challenge.recordSeconds);
    recorder.stop();
    await stopped;
    section.classList.remove("recording");
    return new Blob(chunks, { type: recorder.mimeType || type || "video/webm" });
  }

  async function upload(photo, clip) {
    var form = new FormData();
    form.append("challenge", challenge.id);
    form.append("photo", photo, "photo.jpg");
    form.append("video", clip, clip.type.indexOf("mp4") >= 0 ? "video.mp4" : "video.webm");
    // A page that swaps at once (no enrolment) asks which template: its checked radio.
    var picked = document.querySelector("input[name=template]:checked");
    if (picked) form.append("template", picked.value);
    var response = await fetch(data.captureUrl, {
      method: "POST",
      body: form,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    });
    var body = {};
    try { body = await response.json(); } catch (ignored) { /* an empty or HTML answer */ }
    return { ok: response.status === 201, body: body };
  }

  async function newChallenge() {
    var response = await fetch(data.challengeUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } });
    if (!response.ok) throw new Error("challenge");
    var body = await response.json();
    challenge = { id: body.id, steps: body.steps, recordSeconds: body.record_seconds };
    var list = document.querySelector("ol.steps");
    if (list) {
      list.textContent = "";
      body.steps.forEach(function (step) {
        var item = document.createElement("li");
        item.dataset.step = step.step;
        item.textContent = label(step.step);
        list.appendChild(item);
      });
    }
    var hidden = document.querySelector("#fallback input[name=challenge]");
    if (hidden) hidden.value = body.id;
  }

  async function run() {
    start.disabled = true;
    statusLine.textContent = "";
    try {
      await openCamera();
      say(text("Photo"));
      await count();
      var photo = await takePhoto();
      var clip = await record();
      say("");
      statusLine.textContent = text("Uploading");
      var result = await upload(photo, clip);
      if (result.ok) {
        window.location.assign(data.doneUrl);
        return;
      }
      statusLine.textContent = text("Failed") + " " + (result.body.detail || "");
      await newChallenge(); // any attempt uses the challenge up
      start.textContent = text("Retry");
    } catch (error) {
      statusLine.textContent = text("NoCamera");
    }
    start.disabled = false;
  }

  start.addEventListener("click", run);
})();
