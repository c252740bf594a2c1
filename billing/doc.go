// Package billing is what the platform asks of a payment processor, and
// the rules around money users pay: the plans they pay for (FREE, PRO,
// ENTERPRISE, each monthly or annual, priced and featured by parameters),
// a customer per user at the processor, saved payment methods,
// subscriptions and invoice items; and what running pods cost (usage
// rolled up by pod, day, provider and user) and each user's ledger of
// credit, payments and usage charged once.
//
// A processor is a Backend. Two implement it: Stripe (stripe-go, against
// Stripe itself or stripe-mock) and the Mock, which serves SANDBOX tenants
// without any network, keeps its objects in the database and marks each
// one as mock. Choose is the one rule that says which serves a tenant.
// Amounts are money.Amount everywhere but at a processor's edge, where
// they become whole minor units (cents) in one place (ToMinor, FromMinor).
//
// A user's plan, and with it their role, changes only when the backend
// says a payment succeeded: at once with the Mock, from Stripe's webhooks
// with Stripe (until then a Stripe subscription is incomplete). A webhook
// is verified and stored with its outbox event at once (ReceiveStripe),
// and applied once, later, by a worker (ProcessEvent) through the one
// table of handlers in hooks.go.
//
// billing must not import a face, the tools or the store; it must not see
// a raw card number unless the Mock serves the tenant, and it must never
// send one to Stripe: a real card is entered into Stripe.js in the
// browser, which the processor confirms.
package billing
