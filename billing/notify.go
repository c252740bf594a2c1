package billing

import (
	"context"
	"strings"

	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/tenant"
)

// mailUser queues mail of kind to the person user is, in the caller's
// transaction; data makes the mail's data from the person's name. Nothing
// is sent when the service mails no one.
func (s *Service) mailUser(ctx context.Context, t tenant.Tenant, userID string, kind mail.Kind, data func(name string) any) error {
	if s.mail == nil {
		return nil
	}
	u, err := s.people.Person(ctx, t.ID, userID)
	if err != nil {
		return err
	}
	return s.mail.Send(ctx, t.ID, u.Email, kind, data(u.Name))
}

// priced is an amount as mail shows it: its currency, then the decimal.
func priced(currency string, a money.Amount) string {
	return strings.ToUpper(currency) + " " + a.Decimal()
}
