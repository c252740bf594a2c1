// The console's copy buttons: a button with data-copy copies the text of
// the element it names, and says so beside it. Without a script the text
// is there to select by hand, so the buttons start hidden.
for (const button of document.querySelectorAll("button[data-copy]")) {
  const source = document.getElementById(button.dataset.copy);
  const said = button.parentElement.querySelector("[data-copied]");
  if (!source) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      if (said) said.textContent = "Copied.";
    } catch {
      // No clipboard (an insecure origin, a refusal): select the text so
      // a copy by hand takes it whole.
      const range = document.createRange();
      range.selectNodeContents(source);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      if (said) said.textContent = "Selected: copy it with your keyboard.";
    }
  });
}
