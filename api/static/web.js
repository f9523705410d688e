/* Classpulse web page: an upload progress bar, and a job list that follows its jobs. Optional: without
   this script the upload form posts as a plain form and the list updates when the page is reloaded. */
(function () {
  "use strict";

  var POLL_MS = 3000;

  function say(element, message) {
    if (element) element.textContent = message;
  }

  /* Builds one element from the server's HTML for a job card (never from text the page was given). */
  function element(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function jobList(list, onSignedOut) {
    var announcer = document.getElementById("job-announcer");
    var empty = document.getElementById("no-jobs");
    var timer = null;

    function update(data) {
      var seen = {};
      data.jobs.forEach(function (job, index) {
        seen[job.id] = true;
        var old = document.getElementById("job-" + job.id);
        if (old && old.dataset.state === job.state) return;
        var fresh = element(job.html);
        if (!old) {
          list.insertBefore(fresh, list.children[index] || null);
        } else if (old.dataset.status === job.status) {
          // Progress only: swap the status line, so a focused link or button keeps its focus.
          old.querySelector(".job-status").replaceWith(fresh.querySelector(".job-status"));
          old.dataset.state = job.state;
        } else {
          var hadFocus = old.contains(document.activeElement);
          old.replaceWith(fresh);
          if (hadFocus) fresh.querySelector("a, button").focus();
          say(announcer, job.name + ": " + fresh.querySelector(".badge").textContent);
        }
      });
      Array.prototype.slice.call(list.children).forEach(function (item) {
        if (!seen[item.dataset.jobId]) item.remove();
      });
      empty.hidden = data.jobs.length > 0;
    }

    function refresh() {
      clearTimeout(timer);
      fetch(list.dataset.poll, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 401) {
            onSignedOut();
            return null;
          }
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          if (!data) return;
          update(data);
          if (data.active) timer = setTimeout(refresh, POLL_MS);
        })
        .catch(function () {
          timer = setTimeout(refresh, POLL_MS); // a passing network error: try again
        });
    }

    if (list.dataset.active) timer = setTimeout(refresh, POLL_MS);
    return refresh;
  }

  function uploadForm(form, refreshJobs, onSignedOut) {
    var box = document.getElementById("upload-progress-box");
    var bar = document.getElementById("upload-progress");
    var percent = document.getElementById("upload-percent");
    var status = document.getElementById("upload-status");
    var error = document.getElementById("upload-error");
    var button = document.getElementById("upload-button");
    var maxBytes = Number(form.dataset.maxBytes);

    function done() {
      box.hidden = true;
      button.disabled = false;
    }

    function fail(message) {
      done();
      say(status, "");
      say(error, message);
      error.hidden = false;
    }

    function progress(value) {
      bar.value = value;
      say(percent, value + " %");
    }

    form.addEventListener("submit", function (event) {
      var file = form.elements.file.files[0];
      event.preventDefault();
      error.hidden = true;
      if (file && maxBytes && file.size > maxBytes) {
        fail("The recording is " + (file.size / 1048576).toFixed(1) + " MB; the limit is " +
          form.dataset.maxMb + " MB.");
        return;
      }
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("Accept", "application/json");
      request.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) progress(Math.floor((100 * e.loaded) / e.total));
      });
      request.upload.addEventListener("load", function () {
        progress(100);
        say(status, "Uploaded. Checking the recording…");
      });
      request.addEventListener("load", function () {
        var body = null;
        try {
          body = JSON.parse(request.responseText);
        } catch (ignored) {
          body = null;
        }
        if (request.status === 202 && body) {
          form.reset();
          done();
          say(status, body.message);
          refreshJobs();
        } else if (request.status === 401) {
          onSignedOut();
        } else {
          fail(body && body.message ? body.message
            : "The upload failed (HTTP " + request.status + "). Please try again.");
        }
      });
      request.addEventListener("error", function () {
        fail("The connection was lost during the upload. Please try again.");
      });
      progress(0);
      box.hidden = false;
      button.disabled = true;
      say(status, "Uploading…");
      request.send(new FormData(form));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var list = document.getElementById("job-list");
    var form = document.getElementById("upload-form");
    var onSignedOut = function () {
      window.location.assign("/web/sign-in");
    };
    var refreshJobs = list ? jobList(list, onSignedOut) : function () {};
    if (form && window.FormData) uploadForm(form, refreshJobs, onSignedOut);
  });
})();
