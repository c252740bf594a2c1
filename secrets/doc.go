// Package secrets seals small secret values at rest by envelope encryption:
// every value is encrypted with AES-256-GCM under a fresh random data key,
// and that data key is stored beside the value, wrapped by a master key.
// The master key is a local key file by default (LocalKey) and AWS KMS in
// production (KMSKey); Envelope joins either one to the sealed format.
//
// The caller supplies additional authenticated data (aad) naming where a
// value belongs, such as "param:global/all:stripe.secret_key", so a sealed
// value copied to another place does not open there.
//
// The package must not log, and it must never put plaintext or key
// material into an error, a log line or an ID: errors name the master key,
// the key file and what is wrong with the input, nothing more. It does not
// know where sealed values are kept or what they mean.
package secrets
