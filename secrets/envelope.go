package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// Sealed format, version 1:
//
//	offset  size  field
//	0       1     version, 0x01
//	1       2     n, length of the wrapped data key, big-endian uint16, n > 0
//	3       n     wrapped data key, as returned by KeyWrapper.NewDataKey
//	3+n     12    GCM nonce, random
//	15+n    rest  AES-256-GCM ciphertext of the value followed by the 16-byte tag
//
// The value is encrypted under the unwrapped data key with the caller's aad.
// The header is not part of the aad: changing the version is rejected, and
// changing the wrapped key yields another data key (or none), so GCM fails.
const (
	formatV1   = 1
	headerSize = 1 + 2
	keySize    = 32
	nonceSize  = 12
	tagSize    = 16
	maxWrapped = 1<<16 - 1
)

var (
	// ErrMalformed reports sealed bytes that are not in the sealed format:
	// empty, truncated, or of an unknown version.
	ErrMalformed = errors.New("malformed sealed value")
	// ErrDecrypt reports a sealed value that is well formed but does not
	// open: wrong master key, wrong aad, or tampered bytes.
	ErrDecrypt = errors.New("sealed value does not authenticate (wrong key, wrong aad or tampered)")
)

// Sealer seals and opens small values. aad binds a ciphertext to where it
// belongs (e.g. "param:global/all:stripe.secret_key"); opening with
// different aad fails.
type Sealer interface {
	Seal(ctx context.Context, plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, sealed, aad []byte) ([]byte, error)
}

// KeyWrapper makes and unwraps data keys under a master key. The keys it
// returns belong to the caller, which may overwrite them.
type KeyWrapper interface {
	// NewDataKey returns a fresh 32-byte data key and its wrapped form.
	NewDataKey(ctx context.Context) (plain, wrapped []byte, err error)
	UnwrapKey(ctx context.Context, wrapped []byte) ([]byte, error)
	// ID names the master key (file fingerprint or KMS key id) for diagnostics.
	ID() string
}

// Envelope is a Sealer that encrypts each value under a fresh data key
// wrapped by a KeyWrapper. It is safe for concurrent use if its KeyWrapper is.
type Envelope struct {
	w KeyWrapper
}

var _ Sealer = (*Envelope)(nil)

// NewEnvelope returns an Envelope that wraps data keys with w.
func NewEnvelope(w KeyWrapper) *Envelope {
	return &Envelope{w: w}
}

// Seal encrypts plaintext bound to aad and returns the sealed form.
func (e *Envelope) Seal(ctx context.Context, plaintext, aad []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	key, wrapped, err := e.w.NewDataKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("seal: new data key from %s: %w", e.w.ID(), err)
	}
	defer clear(key)
	if len(wrapped) == 0 || len(wrapped) > maxWrapped {
		return nil, fmt.Errorf("seal: master key %s returned a wrapped key of %d bytes, want 1..%d", e.w.ID(), len(wrapped), maxWrapped)
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, fmt.Errorf("seal: data key from %s: %w", e.w.ID(), err)
	}

	n := headerSize + len(wrapped) + nonceSize
	out := make([]byte, n, n+len(plaintext)+tagSize)
	out[0] = formatV1
	binary.BigEndian.PutUint16(out[1:headerSize], uint16(len(wrapped)))
	copy(out[headerSize:], wrapped)
	nonce := out[n-nonceSize : n]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, aad), nil
}

// Open checks and decrypts a value made by Seal with the same aad.
func (e *Envelope) Open(ctx context.Context, sealed, aad []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	wrapped, nonce, ciphertext, err := parse(sealed)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	key, err := e.w.UnwrapKey(ctx, wrapped)
	if err != nil {
		return nil, fmt.Errorf("open: unwrap data key with %s: %w", e.w.ID(), err)
	}
	defer clear(key)
	aead, err := newGCM(key)
	if err != nil {
		return nil, fmt.Errorf("open: data key from %s: %w", e.w.ID(), err)
	}
	plain, err := aead.Open(nil, nonce, ciphertext, aad)
	if err != nil {
		return nil, fmt.Errorf("open with %s: %w", e.w.ID(), ErrDecrypt)
	}
	return plain, nil
}

// parse splits sealed bytes into their fields without copying.
func parse(sealed []byte) (wrapped, nonce, ciphertext []byte, err error) {
	if len(sealed) == 0 {
		return nil, nil, nil, fmt.Errorf("%w: empty input", ErrMalformed)
	}
	if v := sealed[0]; v != formatV1 {
		return nil, nil, nil, fmt.Errorf("%w: unknown version %d (this build reads version %d)", ErrMalformed, v, formatV1)
	}
	if len(sealed) < headerSize {
		return nil, nil, nil, fmt.Errorf("%w: truncated header: %d bytes", ErrMalformed, len(sealed))
	}
	n := int(binary.BigEndian.Uint16(sealed[1:headerSize]))
	if n == 0 {
		return nil, nil, nil, fmt.Errorf("%w: wrapped key length is 0", ErrMalformed)
	}
	if want := headerSize + n + nonceSize + tagSize; len(sealed) < want {
		return nil, nil, nil, fmt.Errorf("%w: truncated: %d bytes, want at least %d", ErrMalformed, len(sealed), want)
	}
	wrapped = sealed[headerSize : headerSize+n]
	nonce = sealed[headerSize+n : headerSize+n+nonceSize]
	ciphertext = sealed[headerSize+n+nonceSize:]
	return wrapped, nonce, ciphertext, nil
}

// newGCM returns AES-256-GCM under key, refusing any other key size so a
// misbehaving KeyWrapper cannot silently downgrade to AES-128.
func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("data key is %d bytes, want %d", len(key), keySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
