package secrets

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func newTestEnvelope(t testing.TB, fill byte) *Envelope {
	t.Helper()
	k, err := NewLocalKey(bytes.Repeat([]byte{fill}, keySize))
	if err != nil {
		t.Fatal(err)
	}
	return NewEnvelope(k)
}

func TestEnvelopeRoundTrip(t *testing.T) {
	ctx := context.Background()
	e := newTestEnvelope(t, 1)
	tests := []struct {
		name  string
		plain []byte
		aad   []byte
	}{
		{"an empty value opens to an empty value", []byte{}, []byte("param:global/all:empty")},
		{"a short secret opens unchanged", []byte("sk_live_123"), []byte("param:global/all:stripe.secret_key")},
		{"a value with no aad opens with no aad", []byte("seed"), nil},
		{"a 64 KiB binary value opens unchanged", bytes.Repeat([]byte{0, 0xff, 7}, 64<<10/3), []byte("totp:user-1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := e.Seal(ctx, tt.plain, tt.aad)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			if len(tt.plain) > 4 && bytes.Contains(sealed, tt.plain) {
				t.Fatal("sealed bytes contain the plaintext")
			}
			got, err := e.Open(ctx, sealed, tt.aad)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tt.plain) {
				t.Fatalf("Open = %q, want %q", got, tt.plain)
			}
		})
	}

	t.Run("sealing the same value twice gives different bytes", func(t *testing.T) {
		a, _ := e.Seal(ctx, []byte("same"), nil)
		b, _ := e.Seal(ctx, []byte("same"), nil)
		if bytes.Equal(a, b) {
			t.Fatal("two seals of the same value are equal")
		}
	})
}

func TestEnvelopeOpenRejects(t *testing.T) {
	ctx := context.Background()
	e := newTestEnvelope(t, 1)
	aad := []byte("param:global/all:stripe.secret_key")
	plain := []byte("sk_live_very_secret")
	sealed, err := e.Seal(ctx, plain, aad)
	if err != nil {
		t.Fatal(err)
	}
	n := int(sealed[1])<<8 | int(sealed[2])

	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name   string
		sealed []byte
		aad    []byte
		e      *Envelope
		is     error  // errors.Is target, if any
		substr string // expected in the message
	}{
		{"a different aad fails", sealed, []byte("param:global/all:other"), e, ErrDecrypt, "does not authenticate"},
		{"a missing aad fails", sealed, nil, e, ErrDecrypt, "does not authenticate"},
		{"another master key fails", sealed, aad, newTestEnvelope(t, 2), nil, "another master key"},
		{"a flipped ciphertext bit fails", flip(headerSize + n + nonceSize), aad, e, ErrDecrypt, ""},
		{"a flipped tag bit fails", flip(len(sealed) - 1), aad, e, ErrDecrypt, ""},
		{"a flipped nonce bit fails", flip(headerSize + n), aad, e, ErrDecrypt, ""},
		{"a flipped wrapped key bit fails", flip(headerSize + 5), aad, e, nil, "does not open"},
		{"a changed key length fails", flip(2), aad, e, nil, ""},
		{"an unknown version fails", flip(0), aad, e, ErrMalformed, "unknown version 0"},
		{"version 2 fails", append([]byte{2}, sealed[1:]...), aad, e, ErrMalformed, "unknown version 2"},
		{"empty input fails", []byte{}, aad, e, ErrMalformed, "empty"},
		{"nil input fails", nil, aad, e, ErrMalformed, "empty"},
		{"a lone version byte fails", []byte{formatV1}, aad, e, ErrMalformed, "truncated header"},
		{"a zero key length fails", []byte{formatV1, 0, 0, 1, 2, 3}, aad, e, ErrMalformed, "length is 0"},
		{"a key length past the end fails", []byte{formatV1, 0xff, 0xff, 1, 2, 3}, aad, e, ErrMalformed, "truncated"},
		{"input cut inside the tag fails", sealed[:len(sealed)-1], aad, e, ErrDecrypt, ""},
		{"input cut before the tag fails", sealed[:headerSize+n+nonceSize+tagSize-1], aad, e, ErrMalformed, "truncated"},
		{"input cut inside the wrapped key fails", sealed[:headerSize+n/2], aad, e, ErrMalformed, "truncated"},
		{"an extra trailing byte fails", append(bytes.Clone(sealed), 0), aad, e, ErrDecrypt, ""},
		{"plain text garbage fails", []byte("hello, this is not sealed"), aad, e, ErrMalformed, "unknown version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.e.Open(ctx, tt.sealed, tt.aad)
			if err == nil {
				t.Fatalf("Open succeeded with %q", got)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %q", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.substr) {
				t.Errorf("error %q does not contain %q", err, tt.substr)
			}
			if strings.Contains(err.Error(), string(plain)) {
				t.Errorf("error %q contains the plaintext", err)
			}
		})
	}
}

func TestEnvelopeHonoursCancellation(t *testing.T) {
	e := newTestEnvelope(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	sealed, err := e.Seal(ctx, []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	t.Run("seal on a cancelled context fails", func(t *testing.T) {
		if _, err := e.Seal(ctx, []byte("x"), nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("open on a cancelled context fails", func(t *testing.T) {
		if _, err := e.Open(ctx, sealed, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

// badWrapper returns data keys of the wrong shape.
type badWrapper struct{ plain, wrapped []byte }

func (w badWrapper) NewDataKey(context.Context) ([]byte, []byte, error) {
	return bytes.Clone(w.plain), w.wrapped, nil
}
func (w badWrapper) UnwrapKey(context.Context, []byte) ([]byte, error) {
	return bytes.Clone(w.plain), nil
}
func (w badWrapper) ID() string { return "bad" }

func TestEnvelopeRefusesBadDataKeys(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		w      badWrapper
		substr string
	}{
		{"a 16-byte data key is refused", badWrapper{make([]byte, 16), []byte{1}}, "16 bytes, want 32"},
		{"an empty wrapped key is refused", badWrapper{make([]byte, 32), nil}, "0 bytes"},
		{"a wrapped key too long for the format is refused", badWrapper{make([]byte, 32), make([]byte, 1<<16)}, "65536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewEnvelope(tt.w).Seal(ctx, []byte("x"), nil)
			if err == nil || !strings.Contains(err.Error(), tt.substr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.substr)
			}
		})
	}
	t.Run("a short unwrapped key is refused on open", func(t *testing.T) {
		sealed, err := newTestEnvelope(t, 1).Seal(ctx, []byte("x"), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = NewEnvelope(badWrapper{plain: make([]byte, 16)}).Open(ctx, sealed, nil)
		if err == nil || !strings.Contains(err.Error(), "16 bytes, want 32") {
			t.Fatalf("err = %v", err)
		}
	})
}

func FuzzOpen(f *testing.F) {
	e := newTestEnvelope(f, 1)
	ctx := context.Background()
	good, err := e.Seal(ctx, []byte("secret"), []byte("aad"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, []byte("aad"))
	f.Add(good[:len(good)-1], []byte("aad"))
	f.Add([]byte{}, []byte{})
	f.Add([]byte{formatV1}, []byte{})
	f.Add([]byte{formatV1, 0, 60}, []byte{})
	f.Add([]byte{formatV1, 0xff, 0xff, 0}, []byte("aad"))
	f.Add([]byte{2, 0, 1, 0}, []byte(nil))
	f.Fuzz(func(t *testing.T, sealed, aad []byte) {
		// Each fuzz worker seals its own good value, so compare what opened,
		// not the bytes: only values sealed as "secret" with "aad" exist.
		plain, err := e.Open(ctx, sealed, aad)
		if err == nil && (string(plain) != "secret" || string(aad) != "aad") {
			t.Fatalf("Open accepted a forged value: %x -> %q", sealed, plain)
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	e := newTestEnvelope(b, 1)
	ctx := context.Background()
	plain := []byte("sk_live_0123456789abcdefghijklmnopqrstuvwxyz")
	aad := []byte("param:global/all:stripe.secret_key")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Seal(ctx, plain, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	e := newTestEnvelope(b, 1)
	ctx := context.Background()
	aad := []byte("param:global/all:stripe.secret_key")
	sealed, err := e.Seal(ctx, []byte("sk_live_0123456789abcdefghijklmnopqrstuvwxyz"), aad)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Open(ctx, sealed, aad); err != nil {
			b.Fatal(err)
		}
	}
}
