package billing_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/store"
)

// TestUsageDrawsCreditThenPayAsYouGoAndIsChargedOnce: prepaid credit pays
// for usage first and the rest is owed pay-as-you-go; fifty settlements
// racing over the same ended intervals charge each exactly once; the
// account's balance is always the sum of its entries; a repeated credit
// with the same reference changes nothing; on both backends.
func TestUsageDrawsCreditThenPayAsYouGoAndIsChargedOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		ctx := context.Background()
		st, err := store.Open(ctx, b.URL, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		at := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
		twenty := pods.Rate{ProviderHour: money.MustParse("2.00"), MarkupBps: 2000}
		// Ten pods of ana's ran 90 minutes each: $3.60 apiece, $36 in all;
		// one still runs and is not charged yet.
		for i := range 10 {
			start := at.Add(time.Duration(i) * 2 * time.Hour)
			ran(t, st, fmt.Sprintf("pod-%d", i), "ana", "lambda-h100", twenty, start, start.Add(90*time.Minute))
		}
		ran(t, st, "pod-open", "ana", "lambda-h100", twenty, at, time.Time{})

		credit := billing.Posting{TenantID: "acme", UserID: "ana", Reference: "pi_credit_1", At: at, Add: money.MustParse("20.00"),
			Kind: billing.KindCredit}
		if p, err := st.Post(ctx, credit); err != nil || p.Balance != money.MustParse("20.00") {
			t.Fatalf("buy credit: %+v %v", p, err)
		}
		if p, err := st.Post(ctx, credit); err != nil || !p.Duplicate || p.Balance != money.MustParse("20.00") {
			t.Fatalf("the same credit again: %+v %v", p, err)
		}

		var wg sync.WaitGroup
		var mu sync.Mutex
		charged := 0
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := billing.Settle(ctx, st, st, "acme", at, nil)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				charged += n
				mu.Unlock()
			}()
		}
		wg.Wait()
		if charged != 10 {
			t.Fatalf("%d intervals charged by 50 settlements; want each of the 10 once", charged)
		}
		if left, _ := st.UnsettledUsage(ctx, "", 0); len(left) != 0 {
			t.Fatalf("%d ended intervals left unsettled", len(left))
		}
		bal, _ := st.Balance(ctx, "acme", "ana")
		if bal != money.MustParse("-16.00") {
			t.Fatalf("balance %s; want 20 credit - 36 usage = -16", bal)
		}
		entries, err := st.Entries(ctx, "acme", "ana", 0)
		if err != nil {
			t.Fatal(err)
		}
		var sum, fromCredit, payg money.Amount
		for _, e := range entries {
			sum += e.Amount
			switch e.Kind {
			case billing.KindUsageCredit:
				fromCredit -= e.Amount
			case billing.KindUsagePayg:
				payg -= e.Amount
			}
		}
		if sum != bal || fromCredit != money.MustParse("20.00") || payg != money.MustParse("16.00") {
			t.Fatalf("entries add up to %s (balance %s): %s from credit, %s pay-as-you-go", sum, bal, fromCredit, payg)
		}
		if _, err := st.Post(ctx, billing.Posting{TenantID: "acme", UserID: "ana", Reference: "x", At: at}); err == nil {
			t.Fatal("an empty posting was accepted")
		}
	})
}

func TestSplit(t *testing.T) {
	for _, c := range []struct{ balance, charge, credit, payg string }{
		{"10", "4", "4", "0"}, {"3", "4", "3", "1"}, {"0", "4", "0", "4"}, {"-5", "4", "0", "4"},
	} {
		credit, payg := billing.Split(money.MustParse(c.balance), money.MustParse(c.charge))
		if credit != money.MustParse(c.credit) || payg != money.MustParse(c.payg) {
			t.Errorf("%s on %s: %s from credit, %s payg", c.charge, c.balance, credit, payg)
		}
	}
}
