package secrets

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

const testKeyID = "1234abcd-12ab-34cd-56ef-1234567890ab"

// fakeKMS speaks enough of the KMS JSON 1.1 protocol for GenerateDataKey
// and Decrypt. It "wraps" data keys with AES-GCM under its own key, with the
// KMS key id as aad, so a blob only decrypts under the key that made it.
type fakeKMS struct {
	aead     cipher.AEAD
	keys     map[string]bool // key ids that exist
	generate atomic.Int32
	decrypt  atomic.Int32
}

func newFakeKMS(t *testing.T) (*fakeKMS, *kms.Client) {
	t.Helper()
	master := make([]byte, 32)
	rand.Read(master)
	block, _ := aes.NewCipher(master)
	aead, _ := cipher.NewGCM(block)
	f := &fakeKMS{aead: aead, keys: map[string]bool{testKeyID: true, "other-key": true}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := kms.New(kms.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
	return f, client
}

func (f *fakeKMS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		f.fail(w, "ValidationException", "want POST with application/x-amz-json-1.1")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDTEST/") {
		f.fail(w, "UnrecognizedClientException", "request is not signed")
		return
	}
	var in struct {
		KeyId          string
		KeySpec        string
		CiphertextBlob []byte
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.fail(w, "SerializationException", err.Error())
		return
	}
	if !f.keys[in.KeyId] {
		f.fail(w, "NotFoundException", fmt.Sprintf("Key '%s' does not exist", in.KeyId))
		return
	}
	arn := "arn:aws:kms:us-east-1:111122223333:key/" + in.KeyId
	switch r.Header.Get("X-Amz-Target") {
	case "TrentService.GenerateDataKey":
		f.generate.Add(1)
		if in.KeySpec != "AES_256" {
			f.fail(w, "ValidationException", "KeySpec must be AES_256")
			return
		}
		plain := make([]byte, 32)
		rand.Read(plain)
		nonce := make([]byte, 12)
		rand.Read(nonce)
		blob := f.aead.Seal(nonce, nonce, plain, []byte(in.KeyId))
		f.reply(w, map[string]any{"CiphertextBlob": blob, "Plaintext": plain, "KeyId": arn})
	case "TrentService.Decrypt":
		f.decrypt.Add(1)
		if len(in.CiphertextBlob) < 12 {
			f.fail(w, "InvalidCiphertextException", "")
			return
		}
		plain, err := f.aead.Open(nil, in.CiphertextBlob[:12], in.CiphertextBlob[12:], []byte(in.KeyId))
		if err != nil {
			f.fail(w, "IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.")
			return
		}
		f.reply(w, map[string]any{"Plaintext": plain, "KeyId": arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"})
	default:
		f.fail(w, "UnknownOperationException", r.Header.Get("X-Amz-Target"))
	}
}

func (f *fakeKMS) reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(v)
}

func (f *fakeKMS) fail(w http.ResponseWriter, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

func TestKMSKey(t *testing.T) {
	ctx := context.Background()
	fake, client := newFakeKMS(t)
	aad := []byte("param:global/all:stripe.secret_key")

	t.Run("the ID names the KMS key", func(t *testing.T) {
		if got := NewKMSKey(client, testKeyID).ID(); got != "kms:"+testKeyID {
			t.Fatalf("ID = %q", got)
		}
	})

	t.Run("a value sealed through KMS opens through a fresh KMSKey", func(t *testing.T) {
		sealed, err := NewEnvelope(NewKMSKey(client, testKeyID)).Seal(ctx, []byte("sk_live_1"), aad)
		if err != nil {
			t.Fatal(err)
		}
		got, err := NewEnvelope(NewKMSKey(client, testKeyID)).Open(ctx, sealed, aad)
		if err != nil || string(got) != "sk_live_1" {
			t.Fatalf("Open = %q, %v", got, err)
		}
	})

	t.Run("opening the same wrapped key twice calls Decrypt once", func(t *testing.T) {
		sealed, err := NewEnvelope(NewKMSKey(client, testKeyID)).Seal(ctx, []byte("v"), aad)
		if err != nil {
			t.Fatal(err)
		}
		e := NewEnvelope(NewKMSKey(client, testKeyID))
		before := fake.decrypt.Load()
		for range 3 {
			if _, err := e.Open(ctx, sealed, aad); err != nil {
				t.Fatal(err)
			}
		}
		if calls := fake.decrypt.Load() - before; calls != 1 {
			t.Fatalf("%d Decrypt calls, want 1", calls)
		}
	})

	t.Run("a value sealed by this KMSKey opens without calling Decrypt", func(t *testing.T) {
		e := NewEnvelope(NewKMSKey(client, testKeyID))
		sealed, err := e.Seal(ctx, []byte("v"), aad)
		if err != nil {
			t.Fatal(err)
		}
		before := fake.decrypt.Load()
		if _, err := e.Open(ctx, sealed, aad); err != nil {
			t.Fatal(err)
		}
		if calls := fake.decrypt.Load() - before; calls != 0 {
			t.Fatalf("%d Decrypt calls, want 0", calls)
		}
	})

	t.Run("a cached key handed out can be cleared without harming the cache", func(t *testing.T) {
		k := NewKMSKey(client, testKeyID)
		plain, wrapped, err := k.NewDataKey(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := bytes.Clone(plain)
		clear(plain)
		got, err := k.UnwrapKey(ctx, wrapped)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("UnwrapKey = %x, %v; want %x", got, err, want)
		}
	})

	t.Run("wrong aad fails through KMS too", func(t *testing.T) {
		e := NewEnvelope(NewKMSKey(client, testKeyID))
		sealed, _ := e.Seal(ctx, []byte("v"), aad)
		if _, err := e.Open(ctx, sealed, []byte("elsewhere")); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("err = %v, want ErrDecrypt", err)
		}
	})
}

func TestKMSKeyErrors(t *testing.T) {
	ctx := context.Background()
	_, client := newFakeKMS(t)
	sealed, err := NewEnvelope(NewKMSKey(client, testKeyID)).Seal(ctx, []byte("sk_live_1"), nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("sealing under a missing key surfaces NotFoundException", func(t *testing.T) {
		_, err := NewEnvelope(NewKMSKey(client, "no-such-key")).Seal(ctx, []byte("v"), nil)
		var nf *types.NotFoundException
		if !errors.As(err, &nf) {
			t.Fatalf("err = %v, want a wrapped NotFoundException", err)
		}
		for _, s := range []string{"seal", "kms generate data key no-such-key", "does not exist"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not contain %q", err, s)
			}
		}
	})
	t.Run("opening under a missing key surfaces NotFoundException", func(t *testing.T) {
		_, err := NewEnvelope(NewKMSKey(client, "no-such-key")).Open(ctx, sealed, nil)
		var nf *types.NotFoundException
		if !errors.As(err, &nf) {
			t.Fatalf("err = %v, want a wrapped NotFoundException", err)
		}
		if !strings.Contains(err.Error(), "kms decrypt with no-such-key") {
			t.Errorf("error %q lacks context", err)
		}
	})
	t.Run("opening under another existing key surfaces IncorrectKeyException", func(t *testing.T) {
		_, err := NewEnvelope(NewKMSKey(client, "other-key")).Open(ctx, sealed, nil)
		var ik *types.IncorrectKeyException
		if !errors.As(err, &ik) {
			t.Fatalf("err = %v, want a wrapped IncorrectKeyException", err)
		}
		if strings.Contains(err.Error(), "sk_live_1") {
			t.Errorf("error %q contains the plaintext", err)
		}
	})
	t.Run("a cancelled context stops the KMS call", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		wrapped, _, _, err := parse(sealed)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewKMSKey(client, testKeyID).UnwrapKey(cctx, wrapped); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestKMSKeyConcurrentUse(t *testing.T) {
	ctx := context.Background()
	fake, client := newFakeKMS(t)
	seal := NewEnvelope(NewKMSKey(client, testKeyID))
	const values = 8
	sealed := make([][]byte, values)
	for i := range values {
		var err error
		if sealed[i], err = seal.Seal(ctx, fmt.Appendf(nil, "value-%d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	e := NewEnvelope(NewKMSKey(client, testKeyID))
	before := fake.decrypt.Load()
	var wg sync.WaitGroup
	errs := make(chan error, 4*values)
	for g := range 4 {
		wg.Go(func() {
			for i := range values {
				j := (i + g) % values
				got, err := e.Open(ctx, sealed[j], nil)
				if err != nil {
					errs <- err
					return
				}
				if want := fmt.Sprintf("value-%d", j); string(got) != want {
					errs <- fmt.Errorf("Open = %q, want %q", got, want)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	t.Run("concurrent opens all succeed", func(t *testing.T) {
		for err := range errs {
			t.Error(err)
		}
	})
	t.Run("concurrent opens call Decrypt at most once per value per racing opener", func(t *testing.T) {
		if calls := fake.decrypt.Load() - before; calls < values || calls > 4*values {
			t.Fatalf("%d Decrypt calls for %d values", calls, values)
		}
	})
}

func TestKeyCache(t *testing.T) {
	c := newKeyCache(2)
	c.put([]byte("a"), []byte("A"))
	c.put([]byte("b"), []byte("B"))
	c.get([]byte("a")) // a is now the most recent
	c.put([]byte("c"), []byte("C"))
	tests := []struct {
		name   string
		key    string
		want   string
		wantOK bool
	}{
		{"the least recently used entry is dropped", "b", "", false},
		{"a recently read entry stays", "a", "A", true},
		{"the newest entry stays", "c", "C", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := c.get([]byte(tt.key))
			if ok != tt.wantOK || string(got) != tt.want {
				t.Fatalf("get(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.wantOK)
			}
		})
	}
	t.Run("the cache never holds more than its bound", func(t *testing.T) {
		for i := range 10 {
			c.put([]byte{byte(i)}, []byte{byte(i)})
		}
		if n := c.len(); n != 2 {
			t.Fatalf("len = %d, want 2", n)
		}
	})
}
