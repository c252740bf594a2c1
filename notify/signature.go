package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

var (
	errBadURL       = errors.New("want an https URL, or http to a loopback address")
	errNoSignature  = errors.New("no signature: want t=<unix seconds>,v1=<hex>")
	errBadSignature = errors.New("the signature does not match the body")
	errStale        = errors.New("the signature's timestamp is too far from now")
)

// Sign is the value of the X-Gpubroker-Signature header of body sent at
// at: "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
func Sign(secret string, at time.Time, body []byte) string {
	t := strconv.FormatInt(at.Unix(), 10)
	return "t=" + t + ",v1=" + mac(secret, t, body)
}

func mac(secret, t string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(t))
	h.Write([]byte{'.'})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Verify checks a signature header against the body received: one of
// its v1 values must be the HMAC of its timestamp and the body under
// secret, and the timestamp within tolerance of now. It is what a
// receiver does.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var t string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			t = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(t, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errNoSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errStale
	}
	want := []byte(mac(secret, t, body))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), want) {
			return nil
		}
	}
	return errBadSignature
}
