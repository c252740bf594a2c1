package pods

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/gpubroker/pod/fault"
)

// Activation is the stored half of a pod's activation link.
type Activation struct {
	PodID     string
	TokenHash string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// hashToken is what is stored of an activation token.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// IssueActivation makes a new single-use activation token for a ready pod,
// valid for ttl, replacing any earlier one; only its hash is stored. The
// token goes into the activation link and nowhere else.
func (s *Service) IssueActivation(ctx context.Context, p Pod, ttl time.Duration) (string, error) {
	if p.State != Ready {
		return "", fault.Conflict("pod %s is %s: only a ready pod is activated", p.ID, p.State)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	at := s.now().UTC().Truncate(time.Microsecond)
	err := s.repo.PutActivation(ctx, Activation{PodID: p.ID, TokenHash: hashToken(token), CreatedAt: at, ExpiresAt: at.Add(ttl)})
	return token, err
}

// UseActivation spends pod p's activation token: a wrong token is
// unauthenticated, a used or expired one gone. Of two uses at once only
// one succeeds.
func (s *Service) UseActivation(ctx context.Context, p Pod, token string) error {
	a, err := s.checkActivation(ctx, p, token)
	if err != nil {
		return err
	}
	return s.spendActivation(ctx, a)
}

// checkActivation finds the unused, unexpired activation token belongs to.
func (s *Service) checkActivation(ctx context.Context, p Pod, token string) (Activation, error) {
	a, err := s.repo.GetActivation(ctx, p.ID)
	if fault.KindOf(err) == fault.KindNotFound {
		return a, fault.Unauthenticated("this activation link is not valid for pod %s", p.ID)
	}
	if err != nil {
		return a, err
	}
	if subtle.ConstantTimeCompare([]byte(a.TokenHash), []byte(hashToken(token))) != 1 {
		return a, fault.Unauthenticated("this activation link is not valid for pod %s", p.ID)
	}
	switch at := s.now().UTC(); {
	case a.UsedAt != nil:
		return a, fault.Gone("this activation link was used already")
	case !at.Before(a.ExpiresAt):
		return a, fault.Gone("this activation link expired at %s", a.ExpiresAt.Format(time.RFC3339))
	}
	return a, nil
}

// spendActivation marks a used, unless another use came first.
func (s *Service) spendActivation(ctx context.Context, a Activation) error {
	used, err := s.repo.SpendActivation(ctx, a.PodID, a.TokenHash, s.now().UTC())
	if err != nil {
		return err
	}
	if !used {
		return fault.Gone("this activation link was used already")
	}
	return nil
}
