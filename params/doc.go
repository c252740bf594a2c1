// Package params is the parameter system (R1, R15): a declared catalogue of
// typed settings, values stored per scope (global or tenant, one mode or
// both), resolution most specific first, validation that names the key and
// the rule broken, history of every change, secrets sealed at rest, bulk
// export and import, and hot reload through an immutable snapshot that
// readers use without locks.
//
// Resolution order for a reader in tenant T and mode M:
//
//	T+M → T (both modes) → global+M → global (both modes) → default
//
// The package must not know where values are kept: the database backend is
// package store, the AWS backend (SSM Parameter Store and Secrets Manager)
// is package ssmparams. It must not know any face either.
package params
