package billing_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/pods"
)

// TestCreditIsBoughtWithTheSavedCardAndWarnsWhenUsageRunsItLow: with the
// Mock, credit bought with the 4242 card is in the balance at once; an
// amount outside the range or finer than a cent is refused naming the
// range; the 9995 card buys nothing and answers insufficient_funds; the
// settlement that takes the balance below billing.low_balance_usd mails
// the user once, and later charges below it do not.
func TestCreditIsBoughtWithTheSavedCardAndWarnsWhenUsageRunsItLow(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			f := newFixture(t, backend)
			ctx := context.Background()
			card := func(user, number string) {
				setup, err := f.svc.StartSetup(ctx, f.sandbox, user)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.svc.ConfirmSetup(ctx, f.sandbox, user, setup.SetupIntent, number); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := f.svc.BuyCredits(ctx, f.sandbox, "ana", money.MustParse("10")); fault.KindOf(err) != fault.KindConflict {
				t.Fatalf("credit without a card = %v; want a conflict naming start_payment_setup", err)
			}
			card("ana", "4242 4242 4242 4242")
			for _, bad := range []string{"4.99", "10000.01", "10.005", "-5"} {
				_, err := f.svc.BuyCredits(ctx, f.sandbox, "ana", money.MustParse(bad))
				if fe, ok := fault.As(err); !ok || fe.Kind != fault.KindInvalid || len(fe.Problems) != 1 || fe.Problems[0].Field != "amount" ||
					!strings.Contains(fe.Problems[0].Message, "from 5.00 to 10000.00") {
					t.Fatalf("credit of %s = %v; want the range", bad, err)
				}
			}
			got, err := f.svc.BuyCredits(ctx, f.sandbox, "ana", money.MustParse("10"))
			if err != nil || !got.Credited || got.Balance != money.MustParse("10") || !strings.HasPrefix(got.Payment, "mock_pi_") {
				t.Fatalf("credit = %+v, %v", got, err)
			}
			card("bo", "4000 0000 0000 9995")
			_, err = f.svc.BuyCredits(ctx, f.sandbox, "bo", money.MustParse("10"))
			if fe, ok := fault.As(err); !ok || fe.Kind != fault.KindInvalid || !strings.Contains(err.Error(), "insufficient_funds") {
				t.Fatalf("credit on the 9995 card = %v", err)
			}
			if bal, _ := f.st.Balance(ctx, "acme", "bo"); bal != 0 {
				t.Fatalf("bo's balance %s after a refused payment", bal)
			}

			// $3.60 of usage, three times: 10 → 6.40 → 2.80 (below 5) → -0.80.
			rate := pods.Rate{ProviderHour: money.MustParse("2.00"), MarkupBps: 2000}
			at := f.clock.Now()
			for i := range 3 {
				start := at.Add(time.Duration(i) * 2 * time.Hour)
				ran(t, f.st, "pod-"+string(rune('a'+i)), "ana", "lambda-h100", rate, start, start.Add(90*time.Minute))
				if _, err := billing.Settle(ctx, f.st, f.st, "acme", start.Add(2*time.Hour), f.svc.LowBalance); err != nil {
					t.Fatal(err)
				}
			}
			var low []mail.LowBalance
			for _, m := range f.mails.to("ana@acme.test") {
				if m.kind == mail.KindLowBalance {
					low = append(low, m.data.(mail.LowBalance))
				}
			}
			if len(low) != 1 || low[0].Balance != "USD 2.80" || low[0].Threshold != "USD 5.00" || !strings.HasSuffix(low[0].Link, "/billing") {
				t.Fatalf("low balance mail %+v; want one, at 2.80 of 5.00", low)
			}
			if bal, _ := f.st.Balance(ctx, "acme", "ana"); bal != money.MustParse("-0.80") {
				t.Fatalf("balance %s; want -0.80", bal)
			}
		})
	}
}
