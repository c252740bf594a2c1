package params

import (
	"fmt"
	"sort"
)

// Catalog is the declared set of parameters. It is built once at start-up
// from the specs each package contributes and never changes afterwards.
type Catalog struct {
	specs map[string]*Spec
	keys  []string
}

// NewCatalog checks every spec and refuses duplicates.
func NewCatalog(groups ...[]Spec) (*Catalog, error) {
	c := &Catalog{specs: map[string]*Spec{}}
	for _, g := range groups {
		for i := range g {
			s := g[i]
			if err := s.check(); err != nil {
				return nil, err
			}
			if _, dup := c.specs[s.Key]; dup {
				return nil, fmt.Errorf("parameter %s declared twice", s.Key)
			}
			c.specs[s.Key] = &s
			c.keys = append(c.keys, s.Key)
		}
	}
	sort.Strings(c.keys)
	return c, nil
}

// Spec returns the declaration of key.
func (c *Catalog) Spec(key string) (*Spec, bool) {
	s, ok := c.specs[key]
	return s, ok
}

// Keys lists every declared key in order.
func (c *Catalog) Keys() []string { return c.keys }

// Specs lists every declaration in key order.
func (c *Catalog) Specs() []*Spec {
	out := make([]*Spec, len(c.keys))
	for i, k := range c.keys {
		out[i] = c.specs[k]
	}
	return out
}

// Group lists the declarations tagged with group, in key order.
func (c *Catalog) Group(group string) []*Spec {
	var out []*Spec
	for _, k := range c.keys {
		if s := c.specs[k]; s.Group == group {
			out = append(out, s)
		}
	}
	return out
}
