package secrets

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// wrapAAD separates data-key wrapping from any other use of the master key.
var wrapAAD = []byte("gpubroker/secrets data key v1")

// wrappedSize is nonce, encrypted 32-byte data key and tag.
const wrappedSize = nonceSize + keySize + tagSize

// restoreHint ends every key-file error: the key cannot be regenerated
// without losing what was sealed under it, so the advice is always to
// restore, and to start afresh only when nothing was sealed yet.
const restoreHint = "restore the original key file — values sealed under another key cannot be opened " +
	"(only if nothing was ever sealed, delete it and a new key is generated)"

// LocalKey is a KeyWrapper whose master key is 32 bytes held in memory,
// normally loaded from a key file. Wrapped data keys are
// nonce(12) || AES-256-GCM(master, data key) || tag(16).
// It is safe for concurrent use.
type LocalKey struct {
	aead cipher.AEAD
	id   string
}

var _ KeyWrapper = (*LocalKey)(nil)

// NewLocalKey returns a LocalKey for a master key of exactly 32 bytes.
// It keeps no reference to key.
func NewLocalKey(key []byte) (*LocalKey, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("local master key is %d bytes, want %d", len(key), keySize)
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, fmt.Errorf("local master key: %w", err)
	}
	sum := sha256.Sum256(key)
	return &LocalKey{aead: aead, id: "local:" + hex.EncodeToString(sum[:4])}, nil
}

// ID returns "local:" and the first 8 hex digits of the key's SHA-256.
func (k *LocalKey) ID() string { return k.id }

// NewDataKey returns a random 32-byte data key and its wrapped form.
func (k *LocalKey) NewDataKey(context.Context) (plain, wrapped []byte, err error) {
	plain = make([]byte, keySize)
	if _, err := rand.Read(plain); err != nil {
		return nil, nil, fmt.Errorf("new data key: %w", err)
	}
	wrapped = make([]byte, nonceSize, wrappedSize)
	if _, err := rand.Read(wrapped); err != nil {
		return nil, nil, fmt.Errorf("new data key: nonce: %w", err)
	}
	wrapped = k.aead.Seal(wrapped, wrapped[:nonceSize], plain, wrapAAD)
	return plain, wrapped, nil
}

// UnwrapKey returns the data key inside wrapped.
func (k *LocalKey) UnwrapKey(_ context.Context, wrapped []byte) ([]byte, error) {
	if len(wrapped) != wrappedSize {
		return nil, fmt.Errorf("wrapped data key is %d bytes, want %d", len(wrapped), wrappedSize)
	}
	plain, err := k.aead.Open(nil, wrapped[:nonceSize], wrapped[nonceSize:], wrapAAD)
	if err != nil {
		return nil, fmt.Errorf("wrapped data key does not open under %s (sealed under another master key, or tampered)", k.id)
	}
	return plain, nil
}

// maxKeyFile bounds what is read from a key file; a valid one is 45 bytes.
const maxKeyFile = 4 << 10

// LoadOrCreateKeyFile loads the master key from path, or, if path does not
// exist, creates it with 32 random bytes, base64-encoded, mode 0600, in a
// parent directory created with mode 0700 if missing. created reports
// whether the file was made by this call. A file readable by group or
// others is refused.
func LoadOrCreateKeyFile(path string) (_ *LocalKey, created bool, err error) {
	key, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createKeyFile(path)
		if errors.Is(err, fs.ErrExist) {
			// Another process created it first; use theirs.
			key, err = readKeyFile(path)
		} else if err == nil {
			created = true
		}
	}
	if err != nil {
		return nil, false, err
	}
	defer clear(key)
	k, err := NewLocalKey(key)
	if err != nil {
		return nil, false, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, created, nil
}

// readKeyFile returns the decoded key; fs.ErrNotExist passes through wrapped.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("key file %s is not a regular file (%s)", path, fi.Mode().Type())
	}
	// Windows has no meaningful permission bits to check.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("key file %s is readable or writable by group or others (mode %04o); run: chmod 600 %s", path, perm, path)
	}
	raw, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	defer clear(raw)
	if len(raw) > maxKeyFile {
		return nil, fmt.Errorf("key file %s is larger than %d bytes, want 32 bytes in base64; %s", path, maxKeyFile, restoreHint)
	}
	text := bytes.TrimSpace(raw)
	if len(text) == 0 {
		return nil, fmt.Errorf("key file %s is empty, want 32 bytes in base64; %s", path, restoreHint)
	}
	key := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Decode(key, text)
	if err != nil {
		clear(key)
		// The decoder's error gives only an offset, never key bytes.
		return nil, fmt.Errorf("key file %s is not valid base64 (%v); %s", path, err, restoreHint)
	}
	key = key[:n]
	if n != keySize {
		clear(key)
		return nil, fmt.Errorf("key file %s: decoded %d bytes, want %d; %s", path, n, keySize, restoreHint)
	}
	return key, nil
}

// createKeyFile writes a new key to a temporary file in the same directory
// and hard-links it into place, so the key file appears complete or not at
// all, and an existing one is never replaced (fs.ErrExist instead).
func createKeyFile(path string) (key []byte, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create key file %s: %w", path, err)
	}
	key = make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("create key file %s: %w", path, err)
	}
	text := base64.StdEncoding.AppendEncode(nil, key)
	text = append(text, '\n')
	defer clear(text)

	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create key file %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := writeSynced(tmp, text); err != nil {
		return nil, fmt.Errorf("create key file %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("create key file %s: %w", path, fs.ErrExist)
		}
		return nil, fmt.Errorf("create key file %s: %w", path, err)
	}
	// Make the new directory entry durable; losing it after values were
	// sealed would lose those values.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return key, nil
}

func writeSynced(f *os.File, b []byte) error {
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
