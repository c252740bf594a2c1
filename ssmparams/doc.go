// Package ssmparams is the production backend that keeps parameter values in
// AWS: plain values in SSM Parameter Store, secrets in Secrets Manager, which
// encrypts them itself. It implements the value half of params' storage
// (LoadValues, PutValues); history, revisions and change notification stay in
// the database.
//
// Every value has one name, built by Path:
//
//	{prefix}/global/{mode}/{key}              platform-wide
//	{prefix}/tenants/{tenantID}/{mode}/{key}  one tenant
//
// where {mode} is SANDBOX, LIVE, or all for a value that applies to both
// modes, and the prefix defaults to /gpubroker. A plain value is an SSM
// parameter of type String under that name; a secret is a Secrets Manager
// secret named the same without the leading slash, for example
// gpubroker/tenants/acme/LIVE/stripe.secret_key. IAM policies can therefore
// grant a task exactly the subtree it needs.
//
// Neither service stores an empty string, so the value "" is kept as the
// sentinel EmptyValue and turned back into "" on load; writing EmptyValue
// itself is refused so that the round trip is exact.
//
// PutValues applies writes one by one, in order, and stops at the first
// failure: the writes before it stay applied, because neither service offers
// a transaction across names. Deleted secrets are removed without a recovery
// window so the name can be written again at once.
//
// The package must not log, wrap into an error or otherwise expose a value:
// errors and log lines name the parameter path only. It must not seal
// values (Secrets Manager encrypts), decide which keys are secret (the
// caller's Write.Secret does), validate values against the catalogue, or
// keep history; and it must not know any face or the params resolution
// rules.
package ssmparams
