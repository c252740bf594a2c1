package web

import (
	"bytes"
	"reflect"
	"sync"
)

// maxPooledBuffer is the largest page buffer kept for reuse: a rare huge
// page is left to the collector rather than held for ever.
const maxPooledBuffer = 256 << 10

// buffers holds the buffers pages are rendered into before they are sent
// (so a template that fails can still answer the error page). A page is
// tens of kilobytes: growing a fresh buffer to that size on every request
// was most of what a page allocated, and so most of what made the
// collector run.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuffer() *bytes.Buffer { return buffers.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	buffers.Put(b)
}

// assignOutput stores a tool's output in out, a pointer to a value of the
// output's own type, and says whether it could. Pages mostly read the
// output type the tool declares; copying it beats encoding it to JSON and
// decoding it again. Outputs are read only, so sharing what they point to
// is safe.
func assignOutput(output, out any) bool {
	dst := reflect.ValueOf(out)
	if output == nil || dst.Kind() != reflect.Pointer || dst.IsNil() {
		return false
	}
	src := reflect.ValueOf(output)
	if src.Type() != dst.Type().Elem() {
		return false
	}
	dst.Elem().Set(src)
	return true
}
