package app

import (
	"encoding/json"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/params"
)

// identityOptions reads the identity settings from the hot-reloaded
// parameters at every use, so a change applies without a restart.
func identityOptions(p *params.Service, a *App) auth.Options {
	global := func(key string) params.Value { return p.Snapshot().Get("", "", key) }
	return auth.Options{
		Logger:           a.log,
		AccessTTL:        func() time.Duration { return global("auth.access_token_ttl").Duration() },
		RefreshTTL:       func() time.Duration { return global("auth.refresh_token_ttl").Duration() },
		PasswordMinScore: func() int { return int(global("auth.password_min_score").Int()) },
		Mail:             a.Mail,
		BaseURL:          func() string { return global("platform.base_url").String() },
		VerificationTTL:  func() time.Duration { return global("auth.email_verification_ttl").Duration() },
		LoginLimit: func() (int, time.Duration) {
			return int(global("auth.login_max_failures").Int()), global("auth.login_lockout_window").Duration()
		},
		Cognito: func() auth.CognitoConfig {
			c := auth.CognitoConfig{Provider: global("auth.provider").String(), Issuer: global("auth.cognito.issuer").String(),
				JWKSURL: global("auth.cognito.jwks_url").String(), ClientID: global("auth.cognito.client_id").String()}
			var groups map[string]actor.Role
			if err := json.Unmarshal([]byte(global("auth.cognito.groups").String()), &groups); err == nil && len(groups) > 0 {
				c.Groups = groups
			}
			return c
		},
	}
}
