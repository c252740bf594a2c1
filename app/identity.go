package app

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

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
		CognitoClient:    (&cognitoClients{endpoint: a.cfg.AWSEndpoint, byRegion: map[string]*cip.Client{}}).get,
		LoginLimit: func() (int, time.Duration) {
			return int(global("auth.login_max_failures").Int()), global("auth.login_lockout_window").Duration()
		},
		OAuth: func() auth.OAuthConfig {
			app := func(provider, profile string) auth.OAuthClient {
				key := func(k string) string { return global("auth.oauth." + provider + "." + k).String() }
				return auth.OAuthClient{ClientID: key("client_id"), ClientSecret: key("client_secret"), AuthURL: key("auth_url"),
					TokenURL: key("token_url"), ProfileURL: key(profile)}
			}
			return auth.OAuthConfig{Google: app("google", "userinfo_url"), GitHub: app("github", "api_url")}
		},
		Cognito: func() auth.CognitoConfig {
			c := auth.CognitoConfig{Provider: global("auth.provider").String(), Issuer: global("auth.cognito.issuer").String(),
				JWKSURL: global("auth.cognito.jwks_url").String(), ClientID: global("auth.cognito.client_id").String(),
				ClientSecret: global("auth.cognito.client_secret").String()}
			var groups map[string]actor.Role
			if err := json.Unmarshal([]byte(global("auth.cognito.groups").String()), &groups); err == nil && len(groups) > 0 {
				c.Groups = groups
			}
			return c
		},
	}
}

// cognitoClients makes the Cognito client of a region once, with the
// platform's AWS credentials (the calls of a sign-up need none, confirming
// one as an admin does) and GPUBROKER_AWS_ENDPOINT when set.
type cognitoClients struct {
	endpoint string
	mu       sync.Mutex
	byRegion map[string]*cip.Client
}

func (c *cognitoClients) get(ctx context.Context, region string) (auth.CognitoAPI, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.byRegion[region]; ok {
		return cl, nil
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("aws config for cognito: %w", err)
	}
	cl := cip.NewFromConfig(awsCfg, func(o *cip.Options) {
		if c.endpoint != "" {
			o.BaseEndpoint = aws.String(c.endpoint)
		}
	})
	c.byRegion[region] = cl
	return cl, nil
}
