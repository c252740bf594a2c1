package api

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
)

// Webhooks takes the events a payment processor posts. Like OAuth these
// are routes of their own rather than tools: the caller is the processor,
// proven by the payload's signature rather than a credential, and billing
// verifies, stores and audits every delivery.
type Webhooks interface {
	ReceiveStripe(ctx context.Context, d billing.Delivery) (billing.Receipt, error)
}

// MaxWebhookBody bounds a webhook payload; Stripe's events are far
// smaller.
const MaxWebhookBody = 1 << 20

// mountWebhooks adds POST /webhooks/stripe, verified with the global
// signing secret, and POST /webhooks/stripe/{tenant}, verified with the
// tenant's own (a tenant with its own Stripe account). Either answers 200
// once the event is stored, before it is processed.
func mountWebhooks(r chi.Router, h Webhooks, d Deps) {
	receive := func(w http.ResponseWriter, r *http.Request, tenantID string) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
		if err != nil {
			if tooLarge := (*http.MaxBytesError)(nil); !errors.As(err, &tooLarge) {
				err = fault.Malformed("", "the webhook body could not be read")
			}
			writeProblem(w, r, d.Log, err)
			return
		}
		rc, err := h.ReceiveStripe(r.Context(), billing.Delivery{Tenant: tenantID, Payload: body,
			Signature: r.Header.Get("Stripe-Signature"), Addr: clientHost(r)})
		if err != nil {
			writeProblem(w, r, d.Log, err)
			return
		}
		writeJSON(w, http.StatusOK, rc)
	}
	r.Post("/webhooks/stripe", func(w http.ResponseWriter, r *http.Request) { receive(w, r, "") })
	r.Post("/webhooks/stripe/{tenant}", func(w http.ResponseWriter, r *http.Request) { receive(w, r, chi.URLParam(r, "tenant")) })
}
