// Moot's only script. Every form works without it; with it, votes, saves, replies and edits happen in
// place: the same form is sent with fetch() and the server answers JSON instead of a redirect.
"use strict";

(function () {
  function send(form, submitter) {
    const body = new URLSearchParams(new FormData(form));
    if (submitter && submitter.name) {
      body.set(submitter.name, submitter.value);
    }
    return fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) {
          throw new Error(data.message || data.error || "That did not work.");
        }
        return data;
      });
    });
  }

  function complain(form, message) {
    let box = form.querySelector(".js-error");
    if (!box) {
      box = document.createElement("span");
      box.className = "js-error error";
      box.setAttribute("role", "alert");
      form.appendChild(box);
    }
    box.textContent = message;
  }

  function clearComplaint(form) {
    const box = form.querySelector(".js-error");
    if (box) {
      box.remove();
    }
  }

  function onVote(form, data) {
    form.querySelector("[data-score]").textContent = data.score;
    const up = form.querySelector("button.up");
    const down = form.querySelector("button.down");
    up.value = data.up;
    up.setAttribute("aria-pressed", data.my_vote === 1 ? "true" : "false");
    if (down) {
      down.value = data.down;
      down.setAttribute("aria-pressed", data.my_vote === -1 ? "true" : "false");
    }
  }

  function onSave(form, data) {
    const button = form.querySelector("button");
    form.querySelector("input[name=save]").value = data.saved ? "0" : "1";
    button.textContent = data.saved ? "saved" : "save";
    button.setAttribute("aria-pressed", data.saved ? "true" : "false");
  }

  function childrenOf(commentId) {
    const item = document.getElementById("c" + commentId);
    if (!item) {
      return null;
    }
    const fold = item.querySelector(":scope > details");
    let list = fold.querySelector(":scope > ol.children");
    if (!list) {
      list = document.createElement("ol");
      list.className = "children";
      const more = fold.querySelector(":scope > p.more");
      fold.insertBefore(list, more);
    }
    return list;
  }

  function onReply(form, data) {
    const parent = form.querySelector("input[name=parent_id]");
    const list = parent ? childrenOf(parent.value) : document.querySelector("ol.tree");
    if (!list) {
      window.location.reload();
      return;
    }
    if (parent) {
      list.insertAdjacentHTML("beforeend", data.html);
    } else {
      list.insertAdjacentHTML("afterbegin", data.html);
    }
    form.querySelector("textarea").value = "";
    const box = form.closest("details");
    if (box) {
      box.open = false;
    }
    const added = document.getElementById("c" + data.id);
    if (added) {
      const summary = added.querySelector("summary");
      if (summary) {
        summary.focus();
      }
    }
  }

  function onEdit(form, data) {
    const item = document.getElementById("c" + data.id);
    const body = item && item.querySelector(":scope > details > .comment-body");
    if (body) {
      body.innerHTML = data.html;
    }
    const box = form.closest("details");
    if (box) {
      box.open = false;
    }
  }

  const handlers = { vote: onVote, save: onSave, reply: onReply, edit: onEdit };

  document.addEventListener("submit", function (event) {
    const form = event.target;
    const handler = handlers[form.dataset.js];
    if (!handler || !window.fetch) {
      return;
    }
    event.preventDefault();
    const buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) {
      b.disabled = true;
    });
    send(form, event.submitter)
      .then(function (data) {
        clearComplaint(form);
        handler(form, data);
      })
      .catch(function (error) {
        complain(form, error.message);
      })
      .finally(function () {
        buttons.forEach(function (b) {
          b.disabled = false;
        });
      });
  });

  // Opening a reply or edit box puts the cursor in its text area.
  document.addEventListener("toggle", function (event) {
    const box = event.target;
    if (box.open && (box.classList.contains("reply-box") || box.classList.contains("edit-box"))) {
      const area = box.querySelector("textarea");
      if (area) {
        area.focus();
      }
    }
  }, true);
})();
