// Package webtest tests kv's dashboard and metrics (module kvweb) and the
// kv serve command against real backends, SQLite and PostgreSQL, and in a
// real browser: Chromium driven by chromedp. It holds tests only; kvweb
// itself depends on no backend.
package webtest
