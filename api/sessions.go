package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
)

// Sessions signs people in. These endpoints come before any actor exists,
// so they call identity directly instead of a guarded tool; identity audits
// every attempt itself.
type Sessions interface {
	Login(ctx context.Context, email, password, totpCode string) (auth.Tokens, error)
	Refresh(ctx context.Context, refreshToken string) (auth.Tokens, error)
	Logout(ctx context.Context, refreshToken string) error
	JWKS(ctx context.Context) (json.RawMessage, error)
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	TOTPCode string `json:"totp_code,omitempty"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// mountSessions adds the sign-in routes and the JWKS document.
func mountSessions(r chi.Router, s Sessions, d Deps) {
	r.Get("/.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		doc, err := s.JWKS(r.Context())
		if err != nil {
			writeProblem(w, r, d.Log, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(doc)
	})
	r.Route("/api/v1/auth", func(r chi.Router) {
		r.Use(limitBody(16 << 10))
		r.Post("/login", func(w http.ResponseWriter, r *http.Request) {
			var in loginRequest
			if err := decodeBody(r, &in); err != nil {
				writeProblem(w, r, d.Log, err)
				return
			}
			tokens, err := s.Login(withIP(r), in.Email, in.Password, in.TOTPCode)
			if err != nil {
				writeProblem(w, r, d.Log, err)
				return
			}
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, http.StatusOK, tokens)
		})
		r.Post("/refresh", func(w http.ResponseWriter, r *http.Request) {
			var in refreshRequest
			if err := decodeBody(r, &in); err != nil {
				writeProblem(w, r, d.Log, err)
				return
			}
			tokens, err := s.Refresh(withIP(r), in.RefreshToken)
			if err != nil {
				writeProblem(w, r, d.Log, err)
				return
			}
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, http.StatusOK, tokens)
		})
		r.Post("/logout", func(w http.ResponseWriter, r *http.Request) {
			var in refreshRequest
			if err := decodeBody(r, &in); err != nil {
				writeProblem(w, r, d.Log, err)
				return
			}
			if err := s.Logout(withIP(r), in.RefreshToken); err != nil {
				writeProblem(w, r, d.Log, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
	})
}

func withIP(r *http.Request) context.Context {
	return auth.WithClientIP(r.Context(), clientHost(r))
}

// decodeBody decodes a JSON body strictly into v.
func decodeBody(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fault.Malformed("", "want Content-Type application/json")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return err
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return fault.Malformed(strings.Trim(f, `"`), "unknown field")
		}
		return fault.Malformed("", "the body must be one JSON object: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fault.Malformed("", "unexpected data after the JSON object")
	}
	return nil
}
