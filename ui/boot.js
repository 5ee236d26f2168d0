// Loads the WebAssembly UI. A module file (no inline script), so the strict CSP holds.
import init from "./spondon_ui.js";

init({ module_or_path: new URL("spondon_ui_bg.wasm", import.meta.url) }).catch((err) => {
  const p = document.createElement("p");
  p.setAttribute("role", "alert");
  p.className = "boot-error";
  p.textContent = "Spondon could not start / স্পন্দন চালু করা যায়নি: " + err;
  document.body.appendChild(p);
});
