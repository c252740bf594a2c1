package secrets

import (
	"container/list"
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KMSAPI is the part of *kms.Client that KMSKey uses.
type KMSAPI interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// kmsCacheSize bounds the unwrapped data keys a KMSKey keeps in memory.
const kmsCacheSize = 1024

// KMSKey is a KeyWrapper whose master key is an AWS KMS key. Data keys
// come from GenerateDataKey and are unwrapped by Decrypt; unwrapped keys
// are cached (at most 1024, least recently used dropped first) so that
// reloading many values does not call KMS once per value. It is safe for
// concurrent use.
type KMSKey struct {
	client KMSAPI
	keyID  string
	cache  *keyCache
}

var _ KeyWrapper = (*KMSKey)(nil)

// NewKMSKey returns a KMSKey for keyID (key id, key ARN, alias name or
// alias ARN) reached through client.
func NewKMSKey(client KMSAPI, keyID string) *KMSKey {
	return &KMSKey{client: client, keyID: keyID, cache: newKeyCache(kmsCacheSize)}
}

// ID returns "kms:" and the key id the KMSKey was made with.
func (k *KMSKey) ID() string { return "kms:" + k.keyID }

// NewDataKey asks KMS for a fresh AES-256 data key.
func (k *KMSKey) NewDataKey(ctx context.Context) (plain, wrapped []byte, err error) {
	out, err := k.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:   aws.String(k.keyID),
		KeySpec: types.DataKeySpecAes256,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("kms generate data key %s: %w", k.keyID, err)
	}
	if len(out.Plaintext) != keySize {
		return nil, nil, fmt.Errorf("kms generate data key %s: got %d bytes, want %d", k.keyID, len(out.Plaintext), keySize)
	}
	if len(out.CiphertextBlob) == 0 {
		return nil, nil, fmt.Errorf("kms generate data key %s: empty ciphertext blob", k.keyID)
	}
	// A value sealed now is often opened soon after (reload after write).
	k.cache.put(out.CiphertextBlob, out.Plaintext)
	return out.Plaintext, out.CiphertextBlob, nil
}

// UnwrapKey returns the data key in wrapped, from the cache or from KMS
// Decrypt. Naming the key in Decrypt makes KMS refuse a blob made under
// any other key.
func (k *KMSKey) UnwrapKey(ctx context.Context, wrapped []byte) ([]byte, error) {
	if plain, ok := k.cache.get(wrapped); ok {
		return plain, nil
	}
	out, err := k.client.Decrypt(ctx, &kms.DecryptInput{
		KeyId:          aws.String(k.keyID),
		CiphertextBlob: wrapped,
	})
	if err != nil {
		return nil, fmt.Errorf("kms decrypt with %s: %w", k.keyID, err)
	}
	if len(out.Plaintext) != keySize {
		return nil, fmt.Errorf("kms decrypt with %s: got %d bytes, want %d", k.keyID, len(out.Plaintext), keySize)
	}
	k.cache.put(wrapped, out.Plaintext)
	return out.Plaintext, nil
}

// keyCache is a bounded LRU map from wrapped key to unwrapped key. It
// stores and hands out copies, because callers clear keys after use.
type keyCache struct {
	mu    sync.Mutex
	limit int
	order *list.List // of *cacheEntry, most recent first
	byKey map[string]*list.Element
}

type cacheEntry struct {
	wrapped string
	plain   []byte
}

func newKeyCache(limit int) *keyCache {
	return &keyCache{limit: limit, order: list.New(), byKey: make(map[string]*list.Element)}
}

func (c *keyCache) get(wrapped []byte) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[string(wrapped)]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return append([]byte(nil), el.Value.(*cacheEntry).plain...), true
}

func (c *keyCache) put(wrapped, plain []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[string(wrapped)]; ok {
		c.order.MoveToFront(el)
		return
	}
	e := &cacheEntry{wrapped: string(wrapped), plain: append([]byte(nil), plain...)}
	c.byKey[e.wrapped] = c.order.PushFront(e)
	for c.order.Len() > c.limit {
		old := c.order.Remove(c.order.Back()).(*cacheEntry)
		clear(old.plain)
		delete(c.byKey, old.wrapped)
	}
}

func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
