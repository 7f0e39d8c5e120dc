package driver

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestDistinctNames(t *testing.T) {
	for _, tc := range []struct {
		names, want []string
	}{
		{nil, nil},
		{[]string{"b"}, []string{"b"}},
		{[]string{"c", "a", "c", "none", "a"}, []string{"a", "c", "none"}},
	} {
		if got := (Claim{Names: tc.names}).DistinctNames(); !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.names, got, tc.want)
		}
	}
	names := []string{"b", "a", "b"}
	Claim{Names: names}.DistinctNames()
	if !slices.Equal(names, []string{"b", "a", "b"}) {
		t.Errorf("DistinctNames changed the caller's names: %q", names)
	}
}

func TestClaimCheck(t *testing.T) {
	ok := Claim{Runner: "r", Lease: time.Minute, Limit: 1}
	if err := ok.Check(); err != nil {
		t.Fatalf("%+v: %v", ok, err)
	}
	for _, c := range []Claim{
		{Lease: time.Minute, Limit: 1},
		{Runner: "r", Limit: 1},
		{Runner: "r", Lease: -time.Second, Limit: 1},
		{Runner: "r", Lease: time.Minute},
		{Runner: "r", Lease: time.Minute, Limit: -1},
	} {
		if err := c.Check(); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%+v: %v, want ErrInvalidArgument", c, err)
		}
	}
}
