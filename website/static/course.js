// Wide figures: a click shows the image at full size over the page; a second click closes it.
// Long outputs: folded to a few lines, with a button that opens them in place.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".cell_output img").forEach((image) => {
    image.addEventListener("click", () => {
      const overlay = document.createElement("div");
      overlay.className = "dlcourse-enlarged";
      const copy = image.cloneNode();
      overlay.appendChild(copy);
      overlay.addEventListener("click", () => overlay.remove());
      document.body.appendChild(overlay);
    });
  });
  const LINES = 25;
  document.querySelectorAll(".cell_output .output pre").forEach((pre) => {
    const lines = pre.textContent.split("\n").length;
    if (lines <= LINES) return;
    const box = pre.closest(".output");
    box.classList.add("dlcourse-folded");
    const button = document.createElement("button");
    button.className = "dlcourse-unfold";
    button.textContent = `Show all ${lines} lines`;
    button.addEventListener("click", () => {
      const folded = box.classList.toggle("dlcourse-folded");
      button.textContent = folded ? `Show all ${lines} lines` : "Fold";
    });
    box.after(button);
  });
});
