package auth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mail"
)

const (
	poolIssuer   = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool"
	appClient    = "app-client-1"
	clientSecret = "app-client-secret"
	// goodCode confirms; mismatchCode and expiredCode are refused.
	goodCode, mismatchCode, expiredCode = "246810", "000000", "999999"
)

// cognitoCall is one request the fake user pool received.
type cognitoCall struct {
	Op     string
	Body   map[string]any
	Signed bool
}

// fakeUserPool answers Cognito's user pool API in the AWS JSON 1.1
// protocol, for the operations registration uses, and records each call.
type fakeUserPool struct {
	t         *testing.T
	mu        sync.Mutex
	calls     []cognitoCall
	subs      map[string]string // username → sub
	confirmed map[string]bool
}

func newFakeUserPool(t *testing.T) (*fakeUserPool, *httptest.Server) {
	f := &fakeUserPool{t: t, subs: map[string]string{}, confirmed: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func secretHashOf(username string) string {
	m := hmac.New(sha256.New, []byte(clientSecret))
	m.Write([]byte(username + appClient))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func (f *fakeUserPool) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AWSCognitoIdentityProviderService.")
	if !ok || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		f.t.Errorf("not an AWS JSON 1.1 call: %s %s target %q type %q", r.Method, r.URL, r.Header.Get("X-Amz-Target"), r.Header.Get("Content-Type"))
		http.Error(w, "bad request", 400)
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.t.Errorf("%s: body is not JSON: %v", op, err)
	}
	auth := r.Header.Get("Authorization")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, cognitoCall{Op: op, Body: body,
		Signed: strings.HasPrefix(auth, "AWS4-HMAC-SHA256") && strings.Contains(auth, "/eu-west-1/cognito-idp/aws4_request")})
	user, _ := body["Username"].(string)
	if op != "AdminConfirmSignUp" && (body["ClientId"] != appClient || body["SecretHash"] != secretHashOf(user)) {
		f.t.Errorf("%s: client id %v, secret hash %v; want %s and the hash of %q", op, body["ClientId"], body["SecretHash"], appClient, user)
	}
	switch op {
	case "SignUp":
		if _, taken := f.subs[user]; taken {
			cognitoError(w, "UsernameExistsException", "User already exists")
			return
		}
		f.subs[user] = fmt.Sprintf("0b5e%04d-sub", len(f.subs)+1)
		writeAWSJSON(w, map[string]any{"UserConfirmed": false, "UserSub": f.subs[user],
			"CodeDeliveryDetails": map[string]any{"AttributeName": "email", "DeliveryMedium": "EMAIL", "Destination": "a***@e***"}})
	case "AdminConfirmSignUp":
		if body["UserPoolId"] != "eu-west-1_TestPool" {
			f.t.Errorf("AdminConfirmSignUp of pool %v", body["UserPoolId"])
		}
		f.confirmed[user] = true
		writeAWSJSON(w, map[string]any{})
	case "ConfirmSignUp":
		switch {
		case f.subs[user] == "":
			cognitoError(w, "UserNotFoundException", "Username/client id combination not found.")
		case f.confirmed[user]:
			cognitoError(w, "NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED")
		case body["ConfirmationCode"] == expiredCode:
			cognitoError(w, "ExpiredCodeException", "Invalid code provided, please request a code again.")
		case body["ConfirmationCode"] != goodCode:
			cognitoError(w, "CodeMismatchException", "Invalid verification code provided, please try again.")
		default:
			f.confirmed[user] = true
			writeAWSJSON(w, map[string]any{})
		}
	case "ResendConfirmationCode":
		if f.subs[user] == "" {
			cognitoError(w, "UserNotFoundException", "Username/client id combination not found.")
			return
		}
		writeAWSJSON(w, map[string]any{"CodeDeliveryDetails": map[string]any{"AttributeName": "email", "DeliveryMedium": "EMAIL"}})
	default:
		f.t.Errorf("unexpected operation %s", op)
		cognitoError(w, "InvalidParameterException", "unexpected")
	}
}

func writeAWSJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(v)
}

func cognitoError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func (f *fakeUserPool) ops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, c.Op)
	}
	return out
}

func (f *fakeUserPool) last() cognitoCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[len(f.calls)-1]
}

// mailRecorder is a Mailer that keeps what it was asked to send.
type mailRecorder struct {
	mu   sync.Mutex
	sent []sentMail
}

type sentMail struct {
	Tenant, To string
	Kind       mail.Kind
	Data       any
}

func (m *mailRecorder) Send(_ context.Context, tenantID, to string, kind mail.Kind, data any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, sentMail{tenantID, to, kind, data})
	return nil
}

func (m *mailRecorder) all() []sentMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]sentMail(nil), m.sent...)
}

// cognitoFixture is an identity service whose provider is a Cognito user
// pool served by the fake.
func cognitoFixture(t *testing.T) (*fixture, *fakeUserPool, *mailRecorder) {
	pool, srv := newFakeUserPool(t)
	client := cip.New(cip.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI", "")})
	box := &mailRecorder{}
	f := newFixture(t, "sqlite", auth.Options{Mail: box,
		Cognito: func() auth.CognitoConfig {
			return auth.CognitoConfig{Provider: auth.ProviderCognito, Issuer: poolIssuer, ClientID: appClient, ClientSecret: clientSecret}
		},
		CognitoClient: func(_ context.Context, region string) (auth.CognitoAPI, error) {
			if region != "eu-west-1" {
				t.Errorf("client asked for region %q", region)
			}
			return client, nil
		}})
	return f, pool, box
}

// TestCognitoRegistrationAndConfirmation: with Cognito as provider, an
// account is created in the user pool (SignUp), its profile kept here
// under the pool's sub, and confirmed with the code Cognito emailed
// (ConfirmSignUp).
func TestCognitoRegistrationAndConfirmation(t *testing.T) {
	f, pool, box := cognitoFixture(t)
	reg, err := f.svc.Register(f.ctx, auth.Signup{TenantID: "acme", Email: "Cy@Example.com", Password: "violet-kettle-orbit-7", Name: "Cy"})
	if err != nil {
		t.Fatal(err)
	}
	if reg.Status != auth.StatusVerificationSent || reg.Verify != auth.VerifyByCode || !strings.Contains(reg.Next, "code") {
		t.Fatalf("registration = %+v", reg)
	}
	signUp := pool.last()
	attrs := map[string]any{}
	for _, a := range signUp.Body["UserAttributes"].([]any) {
		attrs[a.(map[string]any)["Name"].(string)] = a.(map[string]any)["Value"]
	}
	if signUp.Op != "SignUp" || signUp.Body["Username"] != "cy@example.com" || signUp.Body["Password"] != "violet-kettle-orbit-7" ||
		attrs["email"] != "cy@example.com" || attrs["name"] != "Cy" || attrs["custom:tenant_id"] != "acme" {
		t.Fatalf("SignUp request: %+v", signUp)
	}
	u, err := f.st.UserByEmail(f.ctx, "cy@example.com")
	if err != nil || u.ID != "cognito:0b5e0001-sub" || u.TenantID != "acme" || u.EmailVerified || u.PasswordHash != "" {
		t.Fatalf("profile = %+v, %v", u, err)
	}
	if id, err := f.st.Identity(f.ctx, auth.ProviderCognito, "0b5e0001-sub"); err != nil || id.UserID != u.ID {
		t.Fatalf("identity = %+v, %v", id, err)
	}
	if len(box.all()) != 0 {
		t.Fatalf("we mailed %+v; Cognito mails the code", box.all())
	}
	// Cognito holds the password: a built-in sign-in knows no such account.
	_, err = f.svc.Login(f.ctx, "cy@example.com", "violet-kettle-orbit-7", "")
	wantFault(t, err, fault.KindUnauthenticated, "email or password is wrong")

	_, err = f.svc.ConfirmCode(f.ctx, "cy@example.com", mismatchCode)
	wantFault(t, err, fault.KindUnauthenticated, "not valid")
	_, err = f.svc.ConfirmCode(f.ctx, "nobody@example.com", goodCode)
	wantFault(t, err, fault.KindUnauthenticated, "not valid")
	_, err = f.svc.ConfirmCode(f.ctx, "cy@example.com", expiredCode)
	wantFault(t, err, fault.KindGone, "expired")
	v, err := f.svc.ConfirmCode(f.ctx, "cy@example.com", goodCode)
	if err != nil || !v.Verified {
		t.Fatalf("confirm = %+v, %v", v, err)
	}
	if c := pool.last(); c.Op != "ConfirmSignUp" || c.Body["ConfirmationCode"] != goodCode {
		t.Fatalf("ConfirmSignUp request: %+v", c)
	}
	if u, _ := f.st.UserByEmail(f.ctx, "cy@example.com"); !u.EmailVerified {
		t.Fatal("the profile was not marked confirmed")
	}
	_, err = f.svc.ConfirmCode(f.ctx, "cy@example.com", goodCode)
	wantFault(t, err, fault.KindGone, "cannot be confirmed again")
	if n := len(records(t, f, "auth.email_verified")); n != 1 {
		t.Fatalf("%d auth.email_verified records", n)
	}

	// Registering the address again: the same answer, no SignUp, the
	// owner mailed.
	calls := len(pool.ops())
	again, err := f.svc.Register(f.ctx, auth.Signup{TenantID: "acme", Email: "cy@example.com", Password: "another-long-phrase-9", Name: "Mallory"})
	if err != nil || again != reg {
		t.Fatalf("registering again = %+v, %v; want %+v", again, err, reg)
	}
	if len(pool.ops()) != calls {
		t.Fatalf("registering a known address called Cognito: %v", pool.ops()[calls:])
	}
	if sent := box.all(); len(sent) != 1 || sent[0].Kind != mail.KindAlreadyRegistered || sent[0].To != "cy@example.com" || sent[0].Tenant != "acme" {
		t.Fatalf("mail = %+v", sent)
	}

	// Resending: Cognito sends the code; an unknown address answers alike.
	known, err := f.svc.ResendVerification(f.ctx, "cy@example.com")
	if err != nil || pool.last().Op != "ResendConfirmationCode" {
		t.Fatalf("resend = %+v, %v; last call %s", known, err, pool.last().Op)
	}
	unknown, err := f.svc.ResendVerification(f.ctx, "nobody@example.com")
	if err != nil || unknown.Status != known.Status || unknown.Verify != auth.VerifyByCode {
		t.Fatalf("resend to an unknown address = %+v, %v; to a known one %+v", unknown, err, known)
	}
}

// TestCognitoSandboxRegistrationIsConfirmedAtOnce: R7.8 with Cognito, by
// AdminConfirmSignUp signed with the platform's credentials.
func TestCognitoSandboxRegistrationIsConfirmedAtOnce(t *testing.T) {
	f, pool, _ := cognitoFixture(t)
	reg, err := f.svc.Register(f.ctx, auth.Signup{TenantID: "acme", AutoConfirm: true, Email: "cy@example.com",
		Password: "violet-kettle-orbit-7", Name: "Cy"})
	if err != nil || reg.Status != auth.StatusConfirmed {
		t.Fatalf("registration = %+v, %v", reg, err)
	}
	if ops := pool.ops(); len(ops) != 2 || ops[0] != "SignUp" || ops[1] != "AdminConfirmSignUp" {
		t.Fatalf("calls = %v", ops)
	}
	if c := pool.last(); !c.Signed || c.Body["Username"] != "cy@example.com" {
		t.Fatalf("AdminConfirmSignUp request: %+v", c)
	}
	if u, _ := f.st.UserByEmail(f.ctx, "cy@example.com"); !u.EmailVerified {
		t.Fatal("the profile is not confirmed")
	}
}

// TestAnAddressInTheUserPoolWithoutAProfileAnswersAsTaken: Cognito knows
// the address though this platform has no profile of it: the same
// answer, and the address is mailed.
func TestAnAddressInTheUserPoolWithoutAProfileAnswersAsTaken(t *testing.T) {
	f, pool, box := cognitoFixture(t)
	pool.subs["dee@example.com"] = "0b5e9999-sub"
	reg, err := f.svc.Register(f.ctx, auth.Signup{TenantID: "acme", Email: "dee@example.com", Password: "violet-kettle-orbit-7", Name: "Dee"})
	if err != nil || reg.Status != auth.StatusVerificationSent || reg.Verify != auth.VerifyByCode {
		t.Fatalf("registration = %+v, %v", reg, err)
	}
	if sent := box.all(); len(sent) != 1 || sent[0].Kind != mail.KindAlreadyRegistered || sent[0].To != "dee@example.com" {
		t.Fatalf("mail = %+v", sent)
	}
	if _, err := f.st.UserByEmail(f.ctx, "dee@example.com"); fault.KindOf(err) != fault.KindNotFound {
		t.Fatalf("a profile was made: %v", err)
	}
}
