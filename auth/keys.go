package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/google/uuid"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
)

// Signing keys live in the database, sealed, so every instance signs with
// the same active key and verifies with the same set. Each instance caches
// the set and reloads it every keyRefresh (to follow another instance's
// rotation) and on an unknown kid (at most every keyMissReload, so random
// kids cannot hammer the database).
const (
	keyBits       = 2048
	keyRefresh    = time.Minute
	keyMissReload = time.Second
)

type keySet struct {
	activeKID string
	active    *rsa.PrivateKey
	private   map[string]*rsa.PrivateKey // every loaded key, to reuse on reload without opening again
	public    map[string]*rsa.PublicKey
	loadedAt  time.Time
}

type keyRing struct {
	mu  sync.Mutex // serialises loads and key creation
	set atomic.Pointer[keySet]
}

func signingKeyAAD(kid string) []byte { return []byte("signing-key/" + kid) }

// loadKeys reads the key set from the database. Call with keys.mu held.
func (s *Service) loadKeys(ctx context.Context) (*keySet, error) {
	now := s.now()
	rows, err := s.repo.SigningKeys(ctx, now.Add(-s.opt.RetiredKeyTTL))
	if err != nil {
		return nil, wrapRepo("load signing keys", err)
	}
	prev := s.keys.set.Load()
	set := &keySet{private: map[string]*rsa.PrivateKey{}, public: map[string]*rsa.PublicKey{}, loadedAt: now}
	for _, k := range rows {
		priv := (*rsa.PrivateKey)(nil)
		if prev != nil {
			priv = prev.private[k.KID]
		}
		if priv == nil {
			if priv, err = s.openKey(ctx, k); err != nil {
				return nil, err
			}
		}
		set.private[k.KID], set.public[k.KID] = priv, &priv.PublicKey
		if k.RetiredAt.IsZero() && set.active == nil {
			set.activeKID, set.active = k.KID, priv
		}
	}
	s.keys.set.Store(set)
	return set, nil
}

func (s *Service) openKey(ctx context.Context, k SigningKey) (*rsa.PrivateKey, error) {
	plain, err := s.sealer.Open(ctx, k.Sealed, signingKeyAAD(k.KID))
	if err != nil {
		return nil, fmt.Errorf("open signing key %s: %w", k.KID, err)
	}
	block, _ := pem.Decode(plain)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("signing key %s: not a PKCS #8 PEM block", k.KID)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", k.KID, err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s: %T is not an RSA key", k.KID, key)
	}
	return rk, nil
}

// newSigningKey generates and seals a key.
func (s *Service) newSigningKey(ctx context.Context) (SigningKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return SigningKey{}, fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return SigningKey{}, fmt.Errorf("encode signing key: %w", err)
	}
	k := SigningKey{KID: uuid.NewString(), CreatedAt: s.now()}
	k.Sealed, err = s.sealer.Seal(ctx, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), signingKeyAAD(k.KID))
	if err != nil {
		return SigningKey{}, fmt.Errorf("seal signing key: %w", err)
	}
	return k, nil
}

// signer returns the active key, creating the first one when there is
// none.
func (s *Service) signer(ctx context.Context) (string, *rsa.PrivateKey, error) {
	if set := s.keys.set.Load(); set != nil && set.active != nil && s.now().Sub(set.loadedAt) < keyRefresh {
		return set.activeKID, set.active, nil
	}
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	if set := s.keys.set.Load(); set != nil && set.active != nil && s.now().Sub(set.loadedAt) < keyRefresh {
		return set.activeKID, set.active, nil
	}
	set, err := s.loadKeys(ctx)
	if err != nil {
		return "", nil, err
	}
	if set.active == nil {
		k, err := s.newSigningKey(ctx)
		if err != nil {
			return "", nil, err
		}
		// A conflict means another instance created one first: use it.
		if err := s.repo.AddSigningKey(ctx, k, false); err != nil && fault.KindOf(err) != fault.KindConflict {
			return "", nil, wrapRepo("add signing key", err)
		}
		if set, err = s.loadKeys(ctx); err != nil {
			return "", nil, err
		}
		if set.active == nil {
			return "", nil, fault.Unavailable("no active signing key")
		}
	}
	return set.activeKID, set.active, nil
}

// verifier returns the public key named kid, reloading the set when it is
// stale or does not know kid.
func (s *Service) verifier(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	set := s.keys.set.Load()
	if set != nil {
		if pub, ok := set.public[kid]; ok {
			if s.now().Sub(set.loadedAt) >= keyRefresh && s.keys.mu.TryLock() {
				// Refresh in passing so keys retired past their grace
				// drop out; a failed refresh keeps the cached set.
				if _, err := s.loadKeys(ctx); err != nil {
					s.log.WarnContext(ctx, "refresh signing keys", "err", err)
				}
				s.keys.mu.Unlock()
				if set = s.keys.set.Load(); set != nil {
					pub, ok = set.public[kid]
				}
			}
			if ok {
				return pub, nil
			}
			return nil, errUnknownKID
		}
	}
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	set = s.keys.set.Load()
	if set == nil || s.now().Sub(set.loadedAt) >= keyMissReload {
		var err error
		if set, err = s.loadKeys(ctx); err != nil {
			return nil, err
		}
	}
	if pub, ok := set.public[kid]; ok {
		return pub, nil
	}
	return nil, errUnknownKID
}

// RotateSigningKey retires the active signing key and makes a new one,
// returning its kid. The retired key keeps verifying for RetiredKeyTTL so
// tokens it signed stay valid until they expire.
func (s *Service) RotateSigningKey(ctx context.Context) (string, error) {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	old := ""
	if set := s.keys.set.Load(); set != nil {
		old = set.activeKID
	}
	k, err := s.newSigningKey(ctx)
	if err != nil {
		return "", err
	}
	if err := s.repo.AddSigningKey(ctx, k, true); err != nil {
		return "", wrapRepo("rotate signing key", err)
	}
	if _, err := s.loadKeys(ctx); err != nil {
		return "", err
	}
	in := map[string]any{"kid": k.KID}
	if old != "" {
		in["retired_kid"] = old
	}
	if err := s.record(ctx, event{action: "auth.signing_key_rotated", actor: caller(ctx, actor.System("auth")), input: in}); err != nil {
		return "", err
	}
	return k.KID, nil
}

// JWKS returns the public signing keys (active and still-verifying
// retired ones) as a JSON Web Key Set, for /.well-known/jwks.json.
func (s *Service) JWKS(ctx context.Context) (json.RawMessage, error) {
	if _, _, err := s.signer(ctx); err != nil {
		return nil, err
	}
	set := s.keys.set.Load()
	store := jwkset.NewMemoryStorage()
	for kid, pub := range set.public {
		jwk, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
			KID: kid, ALG: jwkset.AlgRS256, USE: jwkset.UseSig}})
		if err != nil {
			return nil, fmt.Errorf("jwk %s: %w", kid, err)
		}
		if err := store.KeyWrite(ctx, jwk); err != nil {
			return nil, fmt.Errorf("jwk %s: %w", kid, err)
		}
	}
	return store.JSONPublic(ctx)
}
