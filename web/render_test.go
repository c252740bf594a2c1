package web

import "testing"

// TestAPageTakesAToolOutputOfItsOwnTypeAsItIs: an output of the type the
// page reads is assigned; any other type is left to the JSON route.
func TestAPageTakesAToolOutputOfItsOwnTypeAsItIs(t *testing.T) {
	type out struct{ N int }
	type other struct{ N int }
	var o out
	if !assignOutput(out{N: 7}, &o) || o.N != 7 {
		t.Fatalf("same type: assigned %+v", o)
	}
	for name, output := range map[string]any{"another type": other{N: 1}, "a pointer": &out{N: 1}, "nothing": nil} {
		t.Run(name+" is not assigned", func(t *testing.T) {
			var o out
			if assignOutput(output, &o) || o.N != 0 {
				t.Fatalf("assigned %+v", o)
			}
		})
	}
	if assignOutput(out{}, o) {
		t.Fatal("assigned to a value, not a pointer")
	}
}
