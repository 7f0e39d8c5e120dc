package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
)

// importKeys finds a record key (of one namespace), a task id or a task
// unique key that an import holds twice, in 8 bytes a record, task or unique
// key: it keeps a 64-bit hash of each. Every imported task is enqueued as
// pending, so two tasks that share a unique key cannot both be: kvtask
// would refuse the second only once the lines before it were written. Two different keys can share a hash, so a repeated hash is only a
// suspect: repeats confirms it by reading the input again.
type importKeys struct {
	h    maphash.Hash // its seed is random: no input can aim at a collision
	sums []uint64
}

// Domains of importKeys' hashes: a record key, a task id and a task unique
// key never match one another.
const (
	recordDomain = 'r'
	taskDomain   = 't'
	uniqueDomain = 'u'
)

// sum hashes a namespace and key (or a task domain, "" and an id or
// unique key).
func (k *importKeys) sum(domain byte, namespace, key string) uint64 {
	k.h.Reset()
	var n [9]byte
	n[0] = domain
	binary.LittleEndian.PutUint64(n[1:], uint64(len(namespace)))
	k.h.Write(n[:])
	k.h.WriteString(namespace)
	k.h.WriteString(key)
	return k.h.Sum64()
}

// add remembers the records and the task (its id and unique key) of u.
func (k *importKeys) add(u importUnit) {
	for _, r := range u.records {
		k.sums = append(k.sums, k.sum(recordDomain, u.namespace, r.Key))
	}
	if u.task != nil {
		k.sums = append(k.sums, k.sum(taskDomain, "", u.task.ID))
		if u.task.UniqueKey != "" {
			k.sums = append(k.sums, k.sum(uniqueDomain, "", u.task.UniqueKey))
		}
	}
}

// repeats returns an error naming the first line that repeats an earlier
// line's key (in the same namespace), task id or task unique key, and that
// earlier line, or
// nil if there is none. Only if two hashes are equal does it read the
// input (called name) again, from the start that again returns.
func (k *importKeys) repeats(again func() (io.Reader, error), name string) error {
	slices.Sort(k.sums)
	suspect := map[uint64]bool{}
	for i := 1; i < len(k.sums); i++ {
		if k.sums[i] == k.sums[i-1] {
			suspect[k.sums[i]] = true
		}
	}
	k.sums = nil
	if len(suspect) == 0 {
		return nil
	}
	r, err := again()
	if err != nil {
		return err
	}
	type id struct {
		domain    byte
		namespace string
		key       string
	}
	first := map[id]int{} // the line of each suspect seen
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxImportLine)
	for lineNum := 1; sc.Scan(); lineNum++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var l struct {
			Kind, Namespace, Key, ID string
			UniqueKey                string `json:"unique_key"`
		}
		if err := json.Unmarshal(line, &l); err != nil {
			return fmt.Errorf("import: %s line %d: %w: %v (it changed since it was checked)", name, lineNum, errBadImport, err)
		}
		var xs []id
		switch l.Kind {
		case kindRecord:
			xs = []id{{recordDomain, l.Namespace, l.Key}}
		case kindTask:
			xs = []id{{taskDomain, "", l.ID}}
			if l.UniqueKey != "" {
				xs = append(xs, id{uniqueDomain, "", l.UniqueKey})
			}
		}
		for _, x := range xs {
			if !suspect[k.sum(x.domain, x.namespace, x.key)] {
				continue
			}
			if prev, ok := first[x]; ok {
				var what string
				switch x.domain {
				case recordDomain:
					what = fmt.Sprintf("key %q appears twice in namespace %q", x.key, x.namespace)
				case taskDomain:
					what = fmt.Sprintf("task id %q appears twice", x.key)
				default:
					what = fmt.Sprintf("task unique key %q appears twice", x.key)
				}
				return fmt.Errorf("import: %s line %d: %w: %s (first on line %d)", name, lineNum, errBadImport, what, prev)
			}
			first[x] = lineNum
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("import: read %s again: %w", name, err)
	}
	return nil // equal hashes of different keys: nothing is repeated
}
