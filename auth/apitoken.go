package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
)

// APITokenPrefix starts every API token: "gpb_<id>_<secret>", where id is
// 16 hex digits (the lookup key) and secret is 32 random bytes in
// base64url. The prefix lets faces and secret scanners recognise one.
const APITokenPrefix = "gpb_"

const (
	apiTokenIDLen     = 16 // hex digits
	apiTokenSecretLen = 43 // base64url of 32 bytes
	// touchEvery is how stale last_used_at may get, so a busy token costs
	// one write a minute, not one per call.
	touchEvery = time.Minute
)

var scopeRE = regexp.MustCompile(`^[a-z][a-z0-9_.:*-]{0,63}$`)

// CreateAPIToken mints a token for tenantID with role and scopes, valid
// for ttl (0: until revoked). creator may not grant a role above its own
// nor reach another tenant unless it is a platform operator. The
// plaintext is returned once and never stored.
func (s *Service) CreateAPIToken(ctx context.Context, creator actor.Actor, tenantID string, role actor.Role,
	name string, scopes []string, ttl time.Duration) (APIToken, string, error) {
	name = strings.TrimSpace(name)
	var problems []fault.Problem
	if tenantID == "" {
		problems = append(problems, fault.Problem{Field: "tenant_id", Message: "is required"})
	}
	if !role.Valid() {
		problems = append(problems, fault.Problem{Field: "role", Message: fmt.Sprintf("unknown role %q", role)})
	}
	if name == "" || len(name) > 100 {
		problems = append(problems, fault.Problem{Field: "name", Message: "must be 1 to 100 characters"})
	}
	if len(scopes) > 32 {
		problems = append(problems, fault.Problem{Field: "scopes", Message: "at most 32 scopes"})
	}
	for i, sc := range scopes {
		if !scopeRE.MatchString(sc) {
			problems = append(problems, fault.Problem{Field: fmt.Sprintf("scopes[%d]", i),
				Message: "must be lower-case letters, digits and _.:*- (at most 64)"})
		}
	}
	if ttl < 0 {
		problems = append(problems, fault.Problem{Field: "ttl", Message: "must not be negative"})
	}
	if err := fault.InvalidAll("invalid api token", problems); err != nil {
		return APIToken{}, "", err
	}
	if !creator.Role.AtLeast(role) {
		return APIToken{}, "", fault.Forbidden("a %s may not create a token with role %s", creator.Role, role)
	}
	if !reaches(creator, tenantID) {
		return APIToken{}, "", fault.Forbidden("caller belongs to tenant %q and may not create tokens for tenant %q", creator.TenantID, tenantID)
	}
	idb := make([]byte, apiTokenIDLen/2)
	if _, err := rand.Read(idb); err != nil {
		return APIToken{}, "", fmt.Errorf("random token id: %w", err)
	}
	secret, hash, err := newOpaque()
	if err != nil {
		return APIToken{}, "", err
	}
	now := s.now()
	t := APIToken{ID: hex.EncodeToString(idb), TenantID: tenantID, Name: name, Role: role, Scopes: append([]string{}, scopes...),
		SecretHash: hash, CreatedBy: creator.String(), CreatedAt: now}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl)
	}
	if err := s.repo.CreateAPIToken(ctx, t); err != nil {
		return APIToken{}, "", wrapRepo("create api token", err)
	}
	in := map[string]any{"id": t.ID, "name": t.Name, "role": t.Role, "scopes": t.Scopes}
	if !t.ExpiresAt.IsZero() {
		in["expires_at"] = t.ExpiresAt
	}
	if err := s.record(ctx, event{action: "auth.token_create", actor: creator, tenant: tenantID, input: in}); err != nil {
		return APIToken{}, "", err
	}
	return t, APITokenPrefix + t.ID + "_" + secret, nil
}

// VerifyAPIToken checks an API token and returns the actor it stands for.
func (s *Service) VerifyAPIToken(ctx context.Context, raw string) (actor.Actor, error) {
	id, secret, ok := splitAPIToken(raw)
	if !ok {
		return actor.Actor{}, fault.Unauthenticated("api token is malformed: want gpb_<id>_<secret>")
	}
	t, err := s.apiToken(ctx, id)
	if fault.KindOf(err) == fault.KindNotFound {
		return actor.Actor{}, fault.Unauthenticated("api token is not valid")
	}
	if err != nil {
		return actor.Actor{}, wrapRepo("verify api token", err)
	}
	want, err := hex.DecodeString(t.SecretHash)
	got := sha256Of(secret)
	if err != nil || subtle.ConstantTimeCompare(got[:], want) != 1 {
		return actor.Actor{}, fault.Unauthenticated("api token is not valid")
	}
	now := s.now()
	switch {
	case !t.RevokedAt.IsZero():
		return actor.Actor{}, fault.Unauthenticated("api token was revoked")
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return actor.Actor{}, fault.Unauthenticated("api token expired")
	}
	if t.LastUsedAt.IsZero() || now.Sub(t.LastUsedAt) >= touchEvery {
		if err := s.repo.TouchAPIToken(ctx, t.ID, now, now.Add(-touchEvery)); err != nil {
			s.log.WarnContext(ctx, "record api token use", "token", t.ID, "err", err)
		} else {
			t.LastUsedAt = now
			s.tokens.put(t, now)
		}
	}
	return actor.Actor{Kind: actor.KindToken, ID: t.ID, TenantID: t.TenantID, Role: t.Role, Name: t.Name,
		Scope: strings.Join(t.Scopes, " ")}, nil
}

func splitAPIToken(raw string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(raw, APITokenPrefix)
	if !ok {
		return "", "", false
	}
	// The id is hex, so the first underscore ends it; the secret is
	// base64url and may contain more.
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || len(id) != apiTokenIDLen || len(secret) != apiTokenSecretLen {
		return "", "", false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", "", false
		}
	}
	return id, secret, true
}

// ListAPITokens lists a tenant's tokens, newest first, without secrets.
func (s *Service) ListAPITokens(ctx context.Context, tenantID string) ([]APIToken, error) {
	ts, err := s.repo.APITokens(ctx, tenantID)
	if err != nil {
		return nil, wrapRepo("list api tokens", err)
	}
	return ts, nil
}

// RevokeAPIToken revokes a token. The token itself, its creator, or an
// actor of its tenant whose role reaches the token's may revoke it;
// tokens of other tenants are not found.
func (s *Service) RevokeAPIToken(ctx context.Context, by actor.Actor, id string) error {
	t, err := s.repo.APIToken(ctx, id)
	if err != nil {
		return wrapRepo("revoke api token", err)
	}
	if !reaches(by, t.TenantID) {
		return fault.NotFound("api token", id)
	}
	self := by.Kind == actor.KindToken && by.ID == t.ID
	if !self && by.String() != t.CreatedBy && !by.Role.AtLeast(t.Role) {
		return fault.Forbidden("a %s may not revoke a %s token it did not create", by.Role, t.Role)
	}
	if err := s.repo.RevokeAPIToken(ctx, id, s.now()); err != nil {
		return wrapRepo("revoke api token", err)
	}
	s.tokens.forget(id)
	return s.record(ctx, event{action: "auth.token_revoke", actor: by, tenant: t.TenantID,
		input: map[string]any{"id": t.ID, "name": t.Name}})
}
