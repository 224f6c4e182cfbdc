// The console's two touches of script; every page works without it (issue 11).
// Served as a file: the Content-Security-Policy allows no inline script.
"use strict";

// Add and Edit: offer only the grant types the chosen Application Platform offers
// (grant_types_for, DESIGN §2). Each grant's box says which platforms offer it.
function narrowGrants() {
  const platform = document.getElementById("platform");
  const grants = document.getElementById("grant-types");
  if (!platform || !grants) return;
  const adminApp = document.getElementById("admin-app");
  const apply = () => {
    const boxes = [...grants.querySelectorAll(".check[data-platforms]")];
    if (adminApp) boxes.push(adminApp);
    for (const box of boxes) {
      const offered = box.dataset.platforms.split(" ").includes(platform.value);
      const input = box.querySelector("input");
      box.hidden = !offered;
      input.disabled = !offered;
      if (!offered) input.checked = false;
    }
  };
  // The note listing every platform's grants is for pages without script.
  for (const note of grants.querySelectorAll("[data-without-js]")) note.hidden = true;
  platform.addEventListener("change", apply);
  apply();
}

// The one-time secret page: copy the Client ID or the Client Secret to the clipboard.
function copyButtons() {
  const status = document.getElementById("copy-status");
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const source = document.getElementById(button.dataset.copy);
    if (!source || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        if (status) status.textContent = button.textContent.replace("Copy the ", "") + " copied.";
      } catch (error) {
        if (status) status.textContent = "Copying failed: select the text and copy it.";
      }
    });
  }
}

narrowGrants();
copyButtons();
