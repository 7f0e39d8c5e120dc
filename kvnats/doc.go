// Package kvnats publishes kv's change stream to NATS JetStream, each
// entry stored exactly once, in seq order.
//
// A Publisher follows a named kvstream consumer: it holds the consumer's
// fenced lease, resumes where the consumer last committed, and receives
// only the entries the consumer's filters let through (kvstream.OfType,
// kvstream.InNamespace). It publishes each batch at once, waits until
// JetStream acknowledged every message of it, and only then commits the
// consumer's position:
//
//	db, _ := sqlitekv.Open("data.db")                  // any backend
//	s, _ := kvstream.New(db)
//	nc, _ := kvnats.Connect("nats://127.0.0.1:4222")
//	p, _ := kvnats.New(s, nc, "natspusher", kvnats.SubjectPrefix("kv"))
//	err := p.Run(ctx)                                  // until ctx ends
//
// # Guarantees
//
// Every entry the consumer receives is published; none is skipped. An
// entry that cannot be published (larger than the NATS server or the
// JetStream stream accepts) stops Run with an error (ErrUnpublishable)
// that names it, after every entry before it was published and committed.
//
// Each entry is stored once in the JetStream stream. Every message carries
// a Nats-Msg-Id made of the database's stream identity, the subject prefix
// and the entry's seq (MsgID). A batch that was published but not
// committed - the process crashed or was killed, an acknowledgement was
// lost, NATS restarted - is published again by the next run or retry, and
// JetStream drops each message whose id it has already stored. JetStream
// remembers ids only for the stream's duplicate window, so that holds as
// long as an entry is published again within the window of its first
// publication: Run checks at its start that the window is at least the
// configured bound (DuplicateWindow, 2 minutes by default, which is
// JetStream's default window) and refuses a shorter one
// (ErrDuplicateWindow). The bound must cover the consumer's lease duration
// (30s by default: a killed instance's lease must expire before another
// takes over) plus the time it takes to restart.
//
// The entries are stored in seq order. Each batch goes out on one
// connection in seq order; the connection does not keep messages while it
// reconnects (New refuses one that would: see Connect), so a message lost
// in a disconnect is never overtaken by later ones; after a failure the
// batch is published again from its first message not acknowledged. A
// JetStream server that refused one message and stored the next (nothing
// kvnats knows of does that) would break the order; Run logs it as an
// error if it happens.
//
// Failures that may go away - NATS unreachable or restarting, the
// JetStream stream missing, a publish refused or not acknowledged within
// AckWait - are retried with capped, doubling backoff (RetryBackoff) for as
// long as the consumer's lease is held. What retrying cannot mend stops Run
// with an error that says why: ErrDuplicateWindow, ErrStream (the stream
// does not acknowledge, is sealed, or does not take the subjects),
// ErrUnpublishable, a closed connection, and what stops any consumer (see
// kvstream.IsPermanent).
//
// # Subjects
//
// An entry of namespace ns and key k is published on
//
//	<prefix>.<Token(ns)>.<Token(part 1 of k)>.<Token(part 2 of k)>...
//
// where the parts of k are split at each "/" (KeySeparator): the key
// "user/42" of the default namespace is "kv._.user.42", so a subscriber
// can take "kv._.user.>". Token writes A-Z, a-z, 0-9, '-' and '_' as
// themselves and every other byte - '.', '*', '>', spaces, '%' itself,
// each byte of a non-ASCII character - as '%' and two upper-case hex
// digits; the empty string (the default namespace, the part between two
// slashes) is "_", and the one-character string "_" is "%5F". So two
// different entries never share a subject, and ParseSubject returns the
// namespace and key of a subject. A subject is at most 4000 bytes (the
// NATS protocol line limits it): a key of mostly escaped bytes may not
// fit, and stops Run (ErrUnpublishable).
//
// # Messages
//
// The payload is the record's value (JSON), empty for a delete and for a
// touch. The headers are HeaderAction (create, update, delete or touch),
// HeaderNamespace, HeaderKey, HeaderVersion, HeaderType, HeaderSeq and
// HeaderTime; the namespace, key and type are escaped (ParseHeader reads
// them back), and Nats-Msg-Id and Nats-Expected-Stream are set.
//
// A touch message says that the record's expiry was set or cleared
// (kvcore's Touch): the record still exists, with the value and the
// version it had. A subscriber must go by HeaderAction, never by an empty
// payload: reading an empty touch payload as a delete would drop a live
// record.
//
// # The stream identity
//
// Message ids must differ between two databases publishing into one
// JetStream stream, and stay the same for one database across restarts.
// The identity is a random id that the first Publisher (or Identity) makes
// and stores in the database as the lease IdentityLease; the Source option
// sets one instead.
package kvnats
