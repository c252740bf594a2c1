// The payment page with Stripe: Stripe Elements' Payment Element (card
// and bank account) for the setup the server started, confirmed in the
// browser with stripe.confirmSetup; then the form posts the setup's id
// with the page's CSRF token, and the server saves the method and
// subscribes. A bank or 3-D Secure step may leave for its page and come
// back here with the setup's id and its outcome in the address.
const form = document.getElementById("payment-form");
const button = document.getElementById("payment-submit");
const problem = document.getElementById("payment-error");
const stripe = Stripe(form.dataset.stripeKey);
const dark = matchMedia("(prefers-color-scheme: dark)").matches;
const accent = getComputedStyle(document.documentElement).getPropertyValue("--accent").trim();
const elements = stripe.elements({
  clientSecret: form.dataset.clientSecret,
  appearance: { theme: dark ? "night" : "stripe", variables: { colorPrimary: accent, borderRadius: "10px" } },
});
const payment = elements.create("payment", { layout: "tabs" });
payment.on("ready", () => document.getElementById("payment-loading")?.remove());
payment.mount("#payment-element");

function fail(message) {
  problem.textContent = message + " Check the details and try again.";
  problem.hidden = false;
  button.disabled = false;
  problem.scrollIntoView({ block: "center" });
}

// post sends the confirmed setup to the server.
function post(setupIntent) {
  form.elements.setup_intent_id.value = setupIntent;
  form.dataset.confirmed = "true";
  form.submit();
}

const back = new URLSearchParams(location.search);
if (back.get("setup_intent")) {
  if (back.get("redirect_status") === "succeeded") post(back.get("setup_intent"));
  else fail("The payment method was not confirmed.");
}

form.addEventListener("submit", async (event) => {
  if (form.dataset.confirmed === "true") return;
  event.preventDefault();
  button.disabled = true;
  problem.hidden = true;
  const here = new URL(location.href);
  here.search = new URLSearchParams({ plan: form.elements.plan.value, interval: form.elements.interval.value }).toString();
  const { error, setupIntent } = await stripe.confirmSetup({ elements, redirect: "if_required", confirmParams: { return_url: here.href } });
  if (error) {
    fail(error.message || "Stripe could not confirm the payment method.");
    return;
  }
  post(setupIntent.id);
});
