package driver

import (
	"slices"
	"testing"
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
