package auth

import "time"

// BrowserSession is a signed-in browser: what its session cookie stands
// for on the server. It holds the user's access token and the refresh
// token (sealed) that renews it, so the session lives as long as the
// refresh token does and signing out revokes both.
type BrowserSession struct {
	// ID is the hash of the cookie's secret: the store never holds a
	// value that would sign a browser in.
	ID            string
	UserID        string
	TenantID      string
	AccessToken   string
	AccessExpires time.Time
	// RefreshSealed is the refresh token sealed for this session.
	RefreshSealed []byte
	// CSRF is the token every form and state-changing fetch of the
	// session carries.
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}
