package market

import (
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/gpubroker/pod/providers"
)

func TestQueryFilters(t *testing.T) {
	offers := randomOffers(2000, 3)
	for i := range offers {
		if i%3 == 0 {
			offers[i].SpotPriceHour = offers[i].PriceHour * 0.6
		}
	}
	s := NewSnapshot(offers, time.Unix(100, 0))
	q := Query{GPUs: []string{"H100-SXM-80GB", "A100-SXM-80GB"}, Providers: []string{"lambda", "runpod", "vastai", "aws"},
		GPUCount: 8, MinGPUMemoryGB: 80, MaxPrice: 30, Availability: []providers.Availability{providers.Available, providers.Limited}, Limit: 1000}
	page, err := s.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, o := range s.Offers {
		if (o.GPU == "H100-SXM-80GB" || o.GPU == "A100-SXM-80GB") && slices.Contains(q.Providers, o.Provider) &&
			o.GPUCount == 8 && o.PriceHour <= 30 && o.Availability != providers.None {
			want++
		}
	}
	if page.Total != want || len(page.Offers) != want || want == 0 {
		t.Fatalf("matched %d (page %d), want %d", page.Total, len(page.Offers), want)
	}
	for i, r := range page.Offers {
		if i > 0 && r.PriceHour < page.Offers[i-1].PriceHour {
			t.Fatal("default sort must be cheapest first")
		}
	}
	spot, err := s.Query(Query{Spot: true, MaxPrice: 2, Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range spot.Offers {
		if r.SpotPriceHour <= 0 || r.SpotPriceHour > 2 {
			t.Fatalf("spot listing has %+v", r.Offer)
		}
	}
	if _, err := s.Query(Query{Sort: "cheapest"}); err == nil {
		t.Error("an unknown sort key must be refused")
	}
}

func TestSortKeysOrderAsDocumented(t *testing.T) {
	s := NewSnapshot(randomOffers(500, 5), time.Unix(100, 0))
	for _, key := range SortKeys {
		page, err := s.Query(Query{Sort: key, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		rs := page.Offers
		ok := sort.SliceIsSorted(rs, func(i, j int) bool {
			a, b := &rs[i], &rs[j]
			switch key {
			case SortPrice:
				return a.PriceHour < b.PriceHour
			case SortPerformance:
				return a.TFLOPS() > b.TFLOPS()
			case SortPricePerformance:
				return a.PricePerformance() > b.PricePerformance()+1e-6
			case SortTOPSIS:
				return a.Score > b.Score
			case SortAvailability:
				return a.Availability.Rank() > b.Availability.Rank()
			}
			return false
		})
		if !ok {
			t.Errorf("sort %s: out of order", key)
		}
		if key == SortTOPSIS && (rs[0].Score <= rs[len(rs)-1].Score || rs[0].Score > 1) {
			t.Errorf("topsis scores run %v → %v", rs[0].Score, rs[len(rs)-1].Score)
		}
	}
}

// TestCursorsNeverRepeatOrSkip pages through a listing while prices change
// between pages: each page is cut from the cursor's snapshot, so the union
// of the pages is every match exactly once.
func TestCursorsNeverRepeatOrSkip(t *testing.T) {
	for _, key := range SortKeys {
		t.Run(string(key), func(t *testing.T) {
			base := randomOffers(700, 11)
			snaps := map[int64]*Snapshot{}
			first := NewSnapshot(slices.Clone(base), time.Unix(100, 0))
			snaps[first.Taken.UnixNano()] = first
			current := first
			seen := map[string]int{}
			q := Query{Sort: key, Limit: 37, GPUs: []string{"H100-SXM-80GB", "A100-SXM-80GB", "L40S-PCIE-48GB", "RTX-4090-24GB", "A10-PCIE-24GB"}}
			pages := 0
			for {
				s := current
				if q.Cursor != "" {
					at, ok := CursorSnapshot(q.Cursor)
					if !ok {
						t.Fatal("cursor unreadable")
					}
					s = snaps[at.UnixNano()]
				}
				page, err := s.Query(q)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range page.Offers {
					seen[r.ID]++
				}
				pages++
				if page.Next == "" {
					break
				}
				q.Cursor = page.Next
				// Prices move before the next page is asked for.
				moved := slices.Clone(base)
				for i := range moved {
					moved[i].PriceHour *= 1 + float64((i*7+pages)%13-6)/100
				}
				current = NewSnapshot(moved, time.Unix(100+int64(pages), 0))
				snaps[current.Taken.UnixNano()] = current
			}
			total, _ := first.Query(Query{Sort: key, GPUs: q.GPUs, Limit: 1})
			if len(seen) != total.Total || pages < 3 {
				t.Fatalf("saw %d distinct offers in %d pages, want %d", len(seen), pages, total.Total)
			}
			for id, n := range seen {
				if n != 1 {
					t.Fatalf("offer %s served %d times", id, n)
				}
			}
		})
	}
}

func TestCursorsAreCheckedAgainstTheirQuery(t *testing.T) {
	s := NewSnapshot(randomOffers(100, 1), time.Unix(100, 0))
	page, err := s.Query(Query{Limit: 10})
	if err != nil || page.Next == "" {
		t.Fatal(err)
	}
	if _, err := s.Query(Query{Limit: 10, Sort: SortTOPSIS, Cursor: page.Next}); !errors.Is(err, ErrBadCursor) {
		t.Errorf("a cursor used with another sort: %v", err)
	}
	if _, err := s.Query(Query{Cursor: "!!!"}); !errors.Is(err, ErrBadCursor) {
		t.Errorf("garbage cursor: %v", err)
	}
	// Another limit is fine: only filters and sort are pinned.
	if _, err := s.Query(Query{Limit: 20, Cursor: page.Next}); err != nil {
		t.Errorf("another limit: %v", err)
	}
}

func BenchmarkListOffers10k(b *testing.B) {
	s := NewSnapshot(randomOffers(10_000, 9), time.Unix(100, 0))
	for _, c := range []struct {
		name string
		q    Query
	}{
		{"price_all", Query{Limit: 50}},
		{"topsis_all", Query{Sort: SortTOPSIS, Limit: 50}},
		{"topsis_h100", Query{Sort: SortTOPSIS, GPUs: []string{"H100-SXM-80GB"}, Limit: 20}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var durs []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := s.Query(c.q); err != nil {
					b.Fatal(err)
				}
				durs = append(durs, time.Since(start))
			}
			slices.Sort(durs)
			b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

func TestQueryMemoAnswersAsQueryDoes(t *testing.T) {
	s := NewSnapshot(randomOffers(300, 4), time.Unix(100, 0))
	q := Query{Sort: SortTOPSIS, GPUs: []string{"H100-SXM-80GB", "A100-SXM-80GB"}, Limit: 5}
	want, err := s.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, _ := json.Marshal(want)
	for i := 0; i < 2; i++ {
		got, err := s.QueryMemo(q)
		if err != nil {
			t.Fatal(err)
		}
		gotJSON, _ := json.Marshal(got)
		if string(gotJSON) != string(wantJSON) {
			t.Fatalf("call %d: memo JSON differs:\n%s\n%s", i, gotJSON, wantJSON)
		}
	}
	if len(s.memo) != 1 {
		t.Fatalf("memo holds %d pages", len(s.memo))
	}
	next, _ := s.QueryMemo(Query{Sort: SortTOPSIS, GPUs: q.GPUs, Limit: 5, Cursor: want.Next})
	if len(next.Offers) == 0 || next.Offers[0].ID == want.Offers[0].ID || len(s.memo) != 2 {
		t.Fatalf("the next page is its own entry: %d entries", len(s.memo))
	}
}
