// Package kvweb is kv's web dashboard: an http.Handler that shows a kv
// database to the people who run it and, if allowed, acts on it.
//
// Its pages are server-side HTML (html/template, which escapes every key,
// value and name) with an embedded style sheet and one small script for
// the live stream tail (server-sent events); nothing is fetched from the
// internet and there is no build step.
//
//   - Overview: the backend, the schema version, keys per namespace, the
//     stream's first and last seq and write rate, consumers with their lag,
//     tasks by status and the leases held.
//   - Keys: a namespace's keys by prefix, paged by key (a cursor, never an
//     offset); a record with its pretty-printed JSON, version, type, times
//     and expiry, and its changes among the stream's recent entries.
//   - Stream: a live tail filtered by namespace and type, and each
//     consumer's position, lag and lease holder.
//   - Tasks: counts by name and status, tasks by status and name, a task's
//     attempts, last error and payload, the cron schedules with their next
//     tick; with Config.AllowWrites, actions to cancel, retry and enqueue.
//   - Graph: a node's k-hop neighbourhood as a picture, rendered by
//     Graphviz's dot when it is on PATH, else as Mermaid text.
//
// Every action (cancelling, retrying or enqueueing a task, deleting a key)
// is a POST that must carry the page's CSRF token and come from the same
// origin, and is refused unless Config.AllowWrites is set. A query
// parameter that is unknown, repeated or out of range gets a 400 page
// naming it. RequireToken and RequireHost guard a handler that listens
// beyond the loopback interface; kv serve uses them.
//
// Mount it in your own server, under a prefix if you like (its links are
// relative):
//
//	dash, err := kvweb.New(kvweb.Config{Store: store, Stream: stream, Tasks: sched, Backend: "postgres"})
//	if err != nil { ... }
//	mux.Handle("/kv/", http.StripPrefix("/kv", dash))
//
// Package kvweb/kvmetrics exposes the same state to Prometheus.
package kvweb
