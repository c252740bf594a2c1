package market

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gpubroker/pod/providers"
)

// SortKey orders a listing.
type SortKey string

// The sort keys of list_offers.
const (
	SortPrice            SortKey = "price"             // cheapest first
	SortPerformance      SortKey = "performance"       // most TFLOPS first
	SortPricePerformance SortKey = "price_performance" // most TFLOPS per dollar first
	SortTOPSIS           SortKey = "topsis"            // best TOPSIS score first
	SortAvailability     SortKey = "availability"      // available first, then cheapest
)

// SortKeys lists the valid sort keys.
var SortKeys = []SortKey{SortPrice, SortPerformance, SortPricePerformance, SortTOPSIS, SortAvailability}

// Query filters, sorts and pages a snapshot. Zero fields do not filter.
type Query struct {
	GPUs           []string
	Providers      []string
	Regions        []string
	Availability   []providers.Availability
	GPUCount       int
	MinGPUMemoryGB int
	MinPrice       float64
	MaxPrice       float64
	// Spot lists only offers with an interruptible price and filters and
	// sorts on it.
	Spot    bool
	Sort    SortKey
	Weights Weights
	Limit   int
	Cursor  string
}

// Page is one page of a listing.
type Page struct {
	Offers []Ranked `json:"offers"`
	// Next is the cursor of the following page; empty on the last.
	Next string `json:"next_cursor,omitempty"`
	// Total counts every offer matching the filters.
	Total int `json:"total"`
	// AsOf is when the snapshot the page comes from was taken.
	AsOf time.Time `json:"as_of"`
	// raw is the page's JSON, kept by the snapshot's memo.
	raw []byte
}

// MarshalJSON serves a memoized page's JSON as it was encoded once.
func (p Page) MarshalJSON() ([]byte, error) {
	if p.raw != nil {
		return p.raw, nil
	}
	type plain Page
	return json.Marshal(plain(p))
}

// cursor is what a next-page cursor carries: the snapshot it was cut from,
// a fingerprint of the query, and the last offer served with its sort
// value.
type cursor struct {
	Snap  int64   `json:"s"`
	Query string  `json:"q"`
	Value float64 `json:"v"`
	ID    string  `json:"i"`
}

// ErrBadCursor is returned for a cursor that cannot be read or belongs to
// another query.
var ErrBadCursor = fmt.Errorf("invalid cursor")

// CursorSnapshot returns when the snapshot a cursor was cut from was
// taken, so the caller can page through that same snapshot.
func CursorSnapshot(c string) (time.Time, bool) {
	cur, err := decodeCursor(c)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, cur.Snap), true
}

func decodeCursor(c string) (cursor, error) {
	var cur cursor
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || json.Unmarshal(b, &cur) != nil || cur.ID == "" {
		return cur, ErrBadCursor
	}
	return cur, nil
}

// fingerprint identifies a query's filters, sort and weights (not its
// limit or cursor), so a cursor cannot be replayed on another listing.
func (q *Query) fingerprint() string {
	b := make([]byte, 0, 256)
	list := func(xs []string) {
		for _, x := range xs {
			b = append(b, x...)
			b = append(b, ',')
		}
		b = append(b, 0)
	}
	num := func(f float64) {
		b = strconv.AppendFloat(b, f, 'g', -1, 64)
		b = append(b, 0)
	}
	list(q.GPUs)
	list(q.Providers)
	list(q.Regions)
	for _, a := range q.Availability {
		b = append(b, a...)
		b = append(b, ',')
	}
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(q.GPUCount), 10)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(q.MinGPUMemoryGB), 10)
	b = append(b, 0)
	num(q.MinPrice)
	num(q.MaxPrice)
	b = strconv.AppendBool(b, q.Spot)
	b = append(b, 0)
	b = append(b, q.Sort...)
	b = append(b, 0)
	for _, c := range Criteria {
		if w, ok := q.Weights[c]; ok {
			b = append(b, c...)
			num(w)
		}
	}
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

func (q *Query) price(o *providers.Offer) float64 {
	if q.Spot {
		return o.SpotPriceHour
	}
	return o.PriceHour
}

func (q *Query) match(o *providers.Offer) bool {
	if len(q.GPUs) > 0 && !slices.Contains(q.GPUs, o.GPU) ||
		len(q.Providers) > 0 && !slices.Contains(q.Providers, o.Provider) ||
		len(q.Regions) > 0 && !slices.Contains(q.Regions, o.Region) ||
		len(q.Availability) > 0 && !slices.Contains(q.Availability, o.Availability) ||
		q.GPUCount > 0 && o.GPUCount != q.GPUCount ||
		q.MinGPUMemoryGB > 0 && o.GPUMemoryGB < q.MinGPUMemoryGB ||
		q.Spot && o.SpotPriceHour <= 0 {
		return false
	}
	p := q.price(o)
	return !(q.MinPrice > 0 && p < q.MinPrice) && !(q.MaxPrice > 0 && p > q.MaxPrice)
}

// Query filters the snapshot, sorts the matches and cuts the page the
// cursor points at. The order is total (ties fall to the offer id), and a
// cursor records the last offer served, so pages of one snapshot never
// repeat or skip an offer. Given a snapshot other than the cursor's, it
// resumes after the cursor's sort value and id.
func (s *Snapshot) Query(q Query) (Page, error) {
	q.normalize()
	if !slices.Contains(SortKeys, q.Sort) {
		return Page{}, fmt.Errorf("unknown sort key %q", q.Sort)
	}
	var cur *cursor
	fp := q.fingerprint()
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil {
			return Page{}, err
		}
		if c.Query != fp {
			return Page{}, fmt.Errorf("%w: it belongs to a listing with other filters or sort", ErrBadCursor)
		}
		cur = &c
	}
	// Sort small keys, not offers: an offer is a few hundred bytes.
	type key struct {
		v   float64
		id  string
		at  int32
		scr float64
	}
	var keys []key
	for i := range s.Offers {
		if q.match(&s.Offers[i]) {
			keys = append(keys, key{at: int32(i), id: s.Offers[i].ID})
		}
	}
	if q.Sort == SortTOPSIS && len(keys) > 0 {
		scores, err := scoreEach(len(keys), func(i int) *providers.Offer { return &s.Offers[keys[i].at] }, q.Spot, q.Weights, s.Reliability)
		if err != nil {
			return Page{}, err
		}
		for i := range keys {
			keys[i].scr = round6(scores[i])
		}
	}
	for i := range keys {
		keys[i].v = q.sortValue(&s.Offers[keys[i].at], keys[i].scr)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.v != b.v {
			if a.v < b.v {
				return -1
			}
			return 1
		}
		return strings.Compare(a.id, b.id)
	})
	start := 0
	if cur != nil {
		start = sort.Search(len(keys), func(i int) bool {
			return keys[i].v > cur.Value || keys[i].v == cur.Value && keys[i].id > cur.ID
		})
		if cur.Snap == s.Taken.UnixNano() {
			// Same snapshot: resume right after the very offer served last.
			for i := range keys {
				if keys[i].id == cur.ID {
					start = i + 1
					break
				}
			}
		}
	}
	end := min(start+q.Limit, len(keys))
	page := Page{Offers: make([]Ranked, 0, max(end-start, 0)), Total: len(keys), AsOf: s.Taken}
	for _, k := range keys[min(start, end):end] {
		page.Offers = append(page.Offers, Ranked{Offer: s.Offers[k.at], Score: k.scr})
	}
	if end < len(keys) {
		last := keys[end-1]
		b, _ := json.Marshal(cursor{Snap: s.Taken.UnixNano(), Query: fp, Value: last.v, ID: last.id})
		page.Next = base64.RawURLEncoding.EncodeToString(b)
	}
	return page, nil
}

func (q *Query) normalize() {
	if q.Sort == "" {
		q.Sort = SortPrice
	}
	if q.Weights == nil {
		q.Weights = DefaultWeights
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
}

// memoSize bounds the pages one snapshot remembers; a snapshot lives a
// minute, so this holds the popular listings of that minute.
const memoSize = 512

// QueryMemo is Query with the answer remembered, JSON included: a
// snapshot never changes, so the same listing of it is the same page. The
// pages people and agents ask for most are computed and encoded once a
// snapshot.
func (s *Snapshot) QueryMemo(q Query) (Page, error) {
	q.normalize()
	key := q.fingerprint() + "\x00" + strconv.Itoa(q.Limit) + "\x00" + q.Cursor
	s.memoMu.Lock()
	p, ok := s.memo[key]
	s.memoMu.Unlock()
	if ok {
		return p, nil
	}
	p, err := s.Query(q)
	if err != nil {
		return p, err
	}
	if p.raw, err = p.MarshalJSON(); err != nil {
		return p, err
	}
	s.memoMu.Lock()
	if s.memo == nil {
		s.memo = map[string]Page{}
	}
	if len(s.memo) < memoSize {
		s.memo[key] = p
	}
	s.memoMu.Unlock()
	return p, nil
}

// sortValue maps an offer to a number that sorts ascending in the key's
// order (benefits negated).
func (q *Query) sortValue(r *providers.Offer, score float64) float64 {
	switch q.Sort {
	case SortPerformance:
		return -r.TFLOPS()
	case SortPricePerformance:
		t := r.TFLOPS()
		p := q.price(r)
		if t == 0 || p <= 0 {
			return 0
		}
		return -round6(t / p)
	case SortTOPSIS:
		return -score
	case SortAvailability:
		// Availability rank first, price second: rank dominates because
		// prices stay far below 1e6 USD an hour.
		return -float64(r.Availability.Rank())*1e6 + q.price(r)
	}
	return q.price(r)
}

// round6 keeps scores comparable across recomputation: the sixth decimal
// is far finer than any difference a person acts on.
func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// ParseList splits a comma-separated filter value, dropping blanks.
func ParseList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// EncodedJSON returns the page's JSON when the snapshot's memo encoded it
// (nil otherwise), for faces that write it without encoding again.
func (p Page) EncodedJSON() []byte { return p.raw }
