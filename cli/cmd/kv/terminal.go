package main

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
)

// terminal returns the file behind s and true if s is a terminal: kv's one
// rule for "is a person watching" (progress lines, not waiting for stdin).
func terminal(s any) (*os.File, bool) {
	f, ok := s.(*os.File)
	if !ok || !(isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		return nil, false
	}
	return f, true
}

// progressEvery is how often a progress line is redrawn.
const progressEvery = 200 * time.Millisecond

// progress shows the line that line returns on stderr, redrawn while a long
// command runs, if stderr is a terminal (never otherwise); the returned func
// stops it and clears the line. line is called from another goroutine.
func (a *app) progress(line func() string) (stop func()) {
	f, ok := terminal(a.rawStderr)
	if !ok {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(f, "\r\x1b[K")
				return
			case <-t.C:
				fmt.Fprint(f, "\r"+line())
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
