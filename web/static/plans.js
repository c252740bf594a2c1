// The plans page's interval toggle: switching between monthly and annual
// prices in place. Without scripts the toggle's links reload the page
// with the interval asked for.
const plans = document.querySelector(".plans");
for (const link of document.querySelectorAll(".interval .toggle")) {
  link.addEventListener("click", (event) => {
    event.preventDefault();
    const interval = link.dataset.interval;
    plans.dataset.shown = interval;
    for (const other of document.querySelectorAll(".interval .toggle")) {
      other.toggleAttribute("aria-current", other === link);
      if (other === link) other.setAttribute("aria-current", "true");
    }
    for (const choose of document.querySelectorAll(".plan a[data-plan]")) {
      choose.href = "/register?plan=" + choose.dataset.plan + "&interval=" + interval;
    }
    history.replaceState(null, "", interval === "annual" ? "/plans?interval=annual" : "/plans");
  });
}
