// Package realtime is the WebSocket face: a Hub served at /ws that pushes
// events to signed-in clients on channels (prices, pod:{id},
// notifications, agent), with resume after a reconnect from a bounded
// replay ring, pings, and a bounded send queue per connection so that a
// slow client is dropped and publishing never blocks.
//
// Events enter through Publish (the app's consumer of the event stream
// calls it); with a Bus (Redis pub/sub) every instance's hub delivers
// every event with the same id, so a client may resume on any instance.
//
// Protocol (JSON text frames). Client to server:
//
//	{"type":"subscribe","channel":"pod:pod_123","after":41}
//	{"type":"unsubscribe","channel":"pod:pod_123"}
//	{"type":"ping"}
//
// Server to client:
//
//	{"type":"subscribed","channel":"pod:pod_123","last":42}
//	{"type":"event","channel":"pod:pod_123","id":42,"event":"pod.state_changed","data":{…}}
//	{"type":"refetch","channel":"pod:pod_123","last":42}
//	{"type":"unsubscribed","channel":"pod:pod_123"}
//	{"type":"pong"}
//
// Ids grow per channel. A subscribe with "after" replays the events after
// that id still in the ring; when they are not all there the answer is
// "refetch": the client reloads the state over REST and keeps the
// subscription (it may see an id twice around a reconnect and ignores ids
// it has seen). Refusals close the connection with a code and reason:
// 1008 for a missing credential, a foreign Origin, or a channel the caller
// may not see; 1007 for a malformed message; 1003 for a binary frame;
// 1009 for a frame over the read limit; 1013 for a client too slow to
// keep up with its queue; 1001 when the hub shuts down.
//
// It authorizes only through its Access and authenticators, and must not
// reach the store or the tools itself.
package realtime
