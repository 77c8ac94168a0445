// The NLU inbox: one checkbox checks every message on the page. The page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const all = document.querySelector("[data-role=check-all]");
  if (!all) return;
  const boxes = () => document.querySelectorAll("input[type=checkbox][name=record]");
  all.addEventListener("change", () => boxes().forEach((box) => { box.checked = all.checked; }));
});
