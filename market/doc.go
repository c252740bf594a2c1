// Package market makes one catalogue of the offers of many providers: the
// Aggregator asks every provider of a mode at once (each call bounded by a
// timeout, a token bucket and a circuit breaker, a panic contained) and
// serves immutable cached snapshots; the Market hands each tenant the
// aggregator of its mode; queries filter, sort and page a snapshot with
// stable cursors; TOPSIS ranks and compares offers.
//
// It reaches providers only through providers.Adapter and stores nothing
// itself (price observations go to a Recorder). It must not import the
// store, tools or any face.
package market
