package kvnats_test

import (
	"fmt"

	"github.com/kvsuite/kv/kvnats"
)

// The subjects entries are published on: the key's parts become tokens,
// and what NATS would read as a separator or a wildcard is escaped, so
// keys that look alike keep subjects of their own.
func ExampleSubject() {
	for _, key := range []string{"user/42", "user:42", "user_42", "user.42", "user//42", "*"} {
		s, _ := kvnats.Subject("kv", "", key)
		fmt.Printf("%-9q %s\n", key, s)
	}
	s, _ := kvnats.Subject("kv", "orders", "2024/ünï")
	fmt.Println(s)
	// Output:
	// "user/42" kv._.user.42
	// "user:42" kv._.user%3A42
	// "user_42" kv._.user_42
	// "user.42" kv._.user%2E42
	// "user//42" kv._.user._.42
	// "*"       kv._.%2A
	// kv.orders.2024.%C3%BCn%C3%AF
}

// A subscriber reads the namespace and key back from a message's subject.
func ExampleParseSubject() {
	ns, key, err := kvnats.ParseSubject("kv", "kv.orders.invoice%2Ev2.7")
	fmt.Printf("%q %q %v\n", ns, key, err)
	_, _, err = kvnats.ParseSubject("kv", "kv.orders.%41")
	fmt.Println(err)
	// Output:
	// "orders" "invoice.v2/7" <nil>
	// not a kvnats subject: token "%41": escape "%41" at 0 stands for 'A', which is written as itself
}

// Token builds subscription filters: every change to keys under "user/"
// in the default namespace.
func ExampleToken() {
	fmt.Println("kv." + kvnats.Token("") + "." + kvnats.Token("user") + ".>")
	// Output: kv._.user.>
}
