package driver

// NotifyScope is implemented by a Notifier that says whose commits it
// signals. A Notifier without it is taken to signal only the commits of its
// own process (the safe assumption), so continuous consumers keep polling
// often enough to see other processes' writes promptly.
type NotifyScope interface {
	// NotifiesOtherProcesses reports whether Subscribe also signals commits
	// made by other processes and hosts sharing the database (PostgreSQL's
	// LISTEN/NOTIFY: true), or only this process's (SQLite, where the
	// signal is in-process: false).
	NotifiesOtherProcesses() bool
}
