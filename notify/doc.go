// Package notify tells a tenant's POD Admins what the procurement agent
// does (R3.7) and what it has to say, on the channels the tenant chose
// (agent.notify_channels): email to every POD Admin, through package
// mail, and a webhook POST of the event as CloudEvents JSON.
//
// Every notification is an event on the agent domain's topic: the
// decision events package decision publishes, and the admin_notified
// event the agent's notify_admin tool writes to the outbox (Tell). A
// consumer hands each record to Deliveries and runs each delivery until
// it succeeds, so a notification reaches each channel at least once.
//
// # Webhook signature
//
// A webhook request carries the header
//
//	X-Gpubroker-Signature: t=<unix seconds>,v1=<hex>
//
// where <hex> is the lower-case hex HMAC-SHA256, under the tenant's
// agent.notify_webhook_secret, of the timestamp, a dot and the raw body:
// "<t>.<body>". A receiver recomputes it over the body it read, compares
// in constant time and refuses a timestamp too far from its clock
// (Verify does all three), which stops a replay of an old request. Every
// try of a delivery is signed anew; the CloudEvent id (also in the
// header Ce-Id) stays the same, so a receiver drops the repeats of a
// notification delivered more than once.
//
// The package must not decide anything about decisions: it reads them.
// Slack is not one of its channels; a Chat may be given for a chat
// channel later.
package notify
