// The receipt's Print button: shown and wired here, as the Content-Security-Policy allows no inline
// event handler; without JavaScript it stays hidden (the browser's own print still works).
"use strict";
const printButton = document.getElementById("print-receipt");
if (printButton) {
  printButton.hidden = false;
  printButton.addEventListener("click", () => window.print());
}
