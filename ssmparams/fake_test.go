package ssmparams

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// fakeAWS speaks the AWS JSON 1.1 protocol of SSM and Secrets Manager for
// the calls the store makes, keeping state in maps. It is strict where the
// services are: no empty SSM values, MaxResults of at most 10 for
// GetParametersByPath, no create over an existing secret.
type fakeAWS struct {
	mu      sync.Mutex
	now     time.Time
	params  map[string]fakeParam
	secrets map[string]fakeSecret
	denied  map[string]bool // names, paths or filter values answered with AccessDeniedException
	calls   map[string]int  // X-Amz-Target → requests
}

type fakeParam struct {
	Value    string
	Type     string
	Modified time.Time
}

type fakeSecret struct {
	Value   string
	Changed time.Time
}

// fakeRequest holds every request field the store's calls send; the JSON
// names are the ones in the SDK's request snapshots.
type fakeRequest struct {
	Name                       string
	Value                      *string
	Type                       string
	Overwrite                  bool
	Path                       string
	Recursive                  bool
	WithDecryption             bool
	MaxResults                 int
	NextToken                  string
	SecretId                   string
	SecretString               *string
	ForceDeleteWithoutRecovery bool
	Filters                    []struct {
		Key    string
		Values []string
	}
}

type fakeError struct{ code, message string }

const (
	fakeAccount   = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
	fakeARNSuffix = "-AbCdEf"
	pageOfSecrets = 4
)

func newFake() *fakeAWS {
	return &fakeAWS{
		now:     time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		params:  map[string]fakeParam{},
		secrets: map[string]fakeSecret{},
		denied:  map[string]bool{},
		calls:   map[string]int{},
	}
}

// newTestStore returns a store on real SDK clients that talk to a fresh fake.
func newTestStore(t *testing.T, prefix string) (*Store, *fakeAWS) {
	t.Helper()
	f := newFake()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	creds := credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", "")
	ssmc := ssm.New(ssm.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      creds,
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
	smc := secretsmanager.New(secretsmanager.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      creds,
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
	return New(ssmc, smc, prefix), f
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	var (
		out  any
		ferr *fakeError
		req  fakeRequest
	)
	switch {
	case r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
		ferr = &fakeError{"SerializationException", "want POST with application/x-amz-json-1.1"}
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDTEST/"):
		ferr = &fakeError{"MissingAuthenticationTokenException", "request is not signed"}
	default:
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			ferr = &fakeError{"SerializationException", err.Error()}
			break
		}
		f.mu.Lock()
		f.calls[target]++
		out, ferr = f.handle(target, req)
		f.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if ferr != nil {
		w.WriteHeader(http.StatusBadRequest)
		out = map[string]string{"__type": ferr.code, "message": ferr.message}
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (f *fakeAWS) handle(target string, req fakeRequest) (any, *fakeError) {
	for _, name := range append([]string{req.Name, req.Path, secretOf(req.SecretId)}, filterValues(req)...) {
		if name != "" && f.denied[name] {
			return nil, &fakeError{"AccessDeniedException", "User: arn:aws:iam::123456789012:user/test is not authorized to perform: " + target + " on resource: " + name}
		}
	}
	switch target {
	case "AmazonSSM.GetParametersByPath":
		return f.getParametersByPath(req)
	case "AmazonSSM.PutParameter":
		return f.putParameter(req)
	case "AmazonSSM.DeleteParameter":
		if _, ok := f.params[req.Name]; !ok {
			return nil, &fakeError{"ParameterNotFound", "Parameter " + req.Name + " not found."}
		}
		delete(f.params, req.Name)
		return struct{}{}, nil
	case "secretsmanager.ListSecrets":
		return f.listSecrets(req)
	case "secretsmanager.GetSecretValue":
		name := secretOf(req.SecretId)
		s, ok := f.secrets[name]
		if !ok {
			return nil, notFound()
		}
		return map[string]any{"ARN": fakeAccount + name + fakeARNSuffix, "Name": name, "SecretString": s.Value, "CreatedDate": epoch(s.Changed), "VersionId": "v1"}, nil
	case "secretsmanager.CreateSecret":
		if req.Name == "" || req.SecretString == nil {
			return nil, &fakeError{"InvalidParameterException", "want Name and SecretString"}
		}
		if _, ok := f.secrets[req.Name]; ok {
			return nil, &fakeError{"ResourceExistsException", "The operation failed because the secret " + req.Name + " already exists."}
		}
		f.secrets[req.Name] = fakeSecret{Value: *req.SecretString, Changed: f.now}
		return map[string]any{"ARN": fakeAccount + req.Name + fakeARNSuffix, "Name": req.Name, "VersionId": "v1"}, nil
	case "secretsmanager.PutSecretValue":
		name := secretOf(req.SecretId)
		if _, ok := f.secrets[name]; !ok {
			return nil, notFound()
		}
		if req.SecretString == nil {
			return nil, &fakeError{"InvalidParameterException", "want SecretString"}
		}
		f.secrets[name] = fakeSecret{Value: *req.SecretString, Changed: f.now}
		return map[string]any{"ARN": fakeAccount + name + fakeARNSuffix, "Name": name, "VersionId": "v2"}, nil
	case "secretsmanager.DeleteSecret":
		name := secretOf(req.SecretId)
		if _, ok := f.secrets[name]; !ok {
			return nil, notFound()
		}
		if !req.ForceDeleteWithoutRecovery {
			return nil, &fakeError{"InvalidRequestException", "fake: want ForceDeleteWithoutRecovery"}
		}
		delete(f.secrets, name)
		return map[string]any{"ARN": fakeAccount + name + fakeARNSuffix, "Name": name, "DeletionDate": epoch(f.now)}, nil
	}
	return nil, &fakeError{"UnknownOperationException", "fake does not serve " + target}
}

func (f *fakeAWS) getParametersByPath(req fakeRequest) (any, *fakeError) {
	if req.MaxResults > 10 {
		return nil, &fakeError{"ValidationException", "MaxResults must be less than or equal to 10"}
	}
	limit := cmp.Or(req.MaxResults, 10)
	root := strings.TrimSuffix(req.Path, "/") + "/"
	var names []string
	for name := range f.params {
		rest, ok := strings.CutPrefix(name, root)
		if ok && (req.Recursive || !strings.Contains(rest, "/")) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	start, next, ferr := page(req.NextToken, limit, len(names))
	if ferr != nil {
		return nil, ferr
	}
	list := []map[string]any{}
	for _, name := range names[start:min(start+limit, len(names))] {
		p := f.params[name]
		v := p.Value
		if p.Type == "SecureString" && !req.WithDecryption {
			v = "AQICAHciphertext"
		}
		list = append(list, map[string]any{"Name": name, "Type": p.Type, "Value": v, "Version": 1, "LastModifiedDate": epoch(p.Modified)})
	}
	out := map[string]any{"Parameters": list}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func (f *fakeAWS) putParameter(req fakeRequest) (any, *fakeError) {
	switch {
	case req.Name == "":
		return nil, &fakeError{"ValidationException", "want Name"}
	case req.Value == nil || *req.Value == "":
		return nil, &fakeError{"ValidationException", "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1"}
	case req.Type != "String" && req.Type != "SecureString" && req.Type != "StringList":
		return nil, &fakeError{"ValidationException", "unknown Type " + req.Type}
	}
	if _, ok := f.params[req.Name]; ok && !req.Overwrite {
		return nil, &fakeError{"ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true."}
	}
	f.params[req.Name] = fakeParam{Value: *req.Value, Type: req.Type, Modified: f.now}
	return map[string]any{"Version": 1, "Tier": "Standard"}, nil
}

func (f *fakeAWS) listSecrets(req fakeRequest) (any, *fakeError) {
	var names []string
	for name := range f.secrets {
		if matchesFilters(name, req) {
			names = append(names, name)
		}
	}
	for _, flt := range req.Filters {
		if flt.Key != "name" {
			return nil, &fakeError{"InvalidParameterException", "fake filters by name only, not " + flt.Key}
		}
	}
	slices.Sort(names)
	// Like the service, return fewer than MaxResults when it pleases.
	limit := min(cmp.Or(req.MaxResults, 100), pageOfSecrets)
	start, next, ferr := page(req.NextToken, limit, len(names))
	if ferr != nil {
		return nil, ferr
	}
	list := []map[string]any{}
	for _, name := range names[start:min(start+limit, len(names))] {
		list = append(list, map[string]any{"ARN": fakeAccount + name + fakeARNSuffix, "Name": name, "LastChangedDate": epoch(f.secrets[name].Changed)})
	}
	out := map[string]any{"SecretList": list}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

// matchesFilters applies name filters: a prefix match, case-sensitive, any
// value of a filter, every filter.
func matchesFilters(name string, req fakeRequest) bool {
	for _, flt := range req.Filters {
		if !slices.ContainsFunc(flt.Values, func(v string) bool { return strings.HasPrefix(name, v) }) {
			return false
		}
	}
	return true
}

func filterValues(req fakeRequest) []string {
	var out []string
	for _, flt := range req.Filters {
		out = append(out, flt.Values...)
	}
	return out
}

// page turns a NextToken into the first index and the token after it.
func page(token string, limit, total int) (int, string, *fakeError) {
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > total {
			return 0, "", &fakeError{"InvalidNextToken", "The specified token is not valid."}
		}
		start = n
	}
	if start+limit < total {
		return start, strconv.Itoa(start + limit), nil
	}
	return start, "", nil
}

// secretOf resolves a SecretId given as a name or a full ARN.
func secretOf(id string) string {
	if rest, ok := strings.CutPrefix(id, fakeAccount); ok {
		return strings.TrimSuffix(rest, fakeARNSuffix)
	}
	return id
}

func notFound() *fakeError {
	return &fakeError{"ResourceNotFoundException", "Secrets Manager can't find the specified secret."}
}

// epoch is how AWS JSON 1.1 sends a timestamp: seconds since 1970.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
